//! The PostgreSQL backend of tethered, on tokio-postgres. Not for direct use: depend on
//! `tethered` with the `postgres` feature.
//!
//! - [`Postgres`] is the driver: a parsed configuration and a TLS connector.
//! - [`PgConnection`] keeps a per-connection cache of prepared statements and sets the
//!   server's own `statement_timeout` from the context's deadline, pipelined ahead of the
//!   statement (no extra round trip) and only when the current setting does not fit.
//! - [`PgCanceller`] sends PostgreSQL's CancelRequest with the connection's own TLS
//!   connector, and completes only once the server has acted on it.
//! - Values are bound by the parameter types the server inferred: integers are widened
//!   where lossless and refused, never truncated, where not.

mod bind;
mod cancel;
mod connection;
mod driver;
mod error;
mod hosts;
mod row;
mod tls;

pub use cancel::{CancelSocket, PgCanceller};
pub use connection::PgConnection;
pub use driver::{PgPool, Postgres, connect};
pub use row::PgRow;
pub use tls::PgTls;
pub use tokio_postgres;
