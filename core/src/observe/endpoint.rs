//! Where a driver's statements go, as the OpenTelemetry database conventions name it.

use std::sync::Arc;

/// What a driver tells of where its statements go: the attributes every statement's span
/// and metrics carry (`db.system.name`, `db.namespace`, `server.address`, `server.port`).
/// Given by [`Driver::endpoint`](crate::Driver::endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The conventions' `db.system.name`: `postgresql`, `mysql`, `sqlite`, ...
    pub system: &'static str,
    /// The database (`db.namespace`), if the driver names one.
    pub namespace: Option<Arc<str>>,
    /// The server's host name or address (`server.address`); `None` for an embedded
    /// database.
    pub address: Option<Arc<str>>,
    /// The server's port (`server.port`).
    pub port: Option<u16>,
}

impl Endpoint {
    /// An endpoint of `system` with nothing else known.
    pub fn new(system: &'static str) -> Endpoint {
        Endpoint {
            system,
            namespace: None,
            address: None,
            port: None,
        }
    }
}
