//! The PostgreSQL driver: where to connect and with which TLS connector.

use std::time::Duration;

use tethered_core::{Ctx, Driver, Endpoint, Error, Pool, PoolOptions, Result};
use tokio_postgres::config::Host;
use tokio_postgres::{Config, NoTls};

use crate::connection::PgConnection;
use crate::hosts;
use crate::tls::PgTls;

/// tokio-postgres's own keepalive idle time (that of the OS).
const TOKIO_POSTGRES_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);

/// Silence on a connection before the first TCP keepalive probe.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Between two TCP keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Unanswered TCP keepalive probes before the connection is given up.
pub const KEEPALIVE_RETRIES: u32 = 3;

/// A pool of PostgreSQL connections without TLS.
pub type PgPool = Pool<Postgres>;

/// Opens a pool for `url` (`postgres://user[:password]@host[:port]/database`) and checks,
/// under `ctx`, that a connection can be made.
///
/// Cancel safe: dropped, no connection is left open.
pub async fn connect(ctx: &Ctx, url: &str, options: PoolOptions) -> Result<PgPool> {
    let pool = Pool::new(Postgres::from_url(url)?, options)?;
    drop(pool.acquire(ctx).await?);
    Ok(pool)
}

/// The PostgreSQL driver: a connection configuration and a TLS connector (`NoTls` by
/// default). The canceller uses the same connector, so a CancelRequest travels the way the
/// connection does.
#[derive(Clone, Debug)]
pub struct Postgres<T = NoTls> {
    config: Config,
    tls: T,
}

impl Postgres<NoTls> {
    /// A driver for `url`, without TLS. A malformed URL is [`Error::InvalidInput`].
    pub fn from_url(url: &str) -> Result<Postgres<NoTls>> {
        let config = url
            .parse::<Config>()
            .map_err(|error| Error::InvalidInput(format!("not a PostgreSQL URL: {error}")))?;
        Ok(Postgres::new(config, NoTls))
    }
}

impl<T> Postgres<T> {
    /// A driver for `config`, connecting through `tls`.
    ///
    /// Where `config` leaves them at tokio-postgres's defaults, TCP keepalives are tuned
    /// for a service: the first probe after [`KEEPALIVE_IDLE`] of silence (not the OS's
    /// 2 hours), then every [`KEEPALIVE_INTERVAL`], and the connection is given up after
    /// [`KEEPALIVE_RETRIES`] unanswered probes; so a peer that vanished (a network
    /// partition, a host that died) is found out in about a minute, and its connection
    /// closed and replaced.
    pub fn new(mut config: Config, tls: T) -> Postgres<T> {
        if config.get_application_name().is_none() {
            config.application_name("tethered");
        }
        if config.get_keepalives_idle() == TOKIO_POSTGRES_KEEPALIVE_IDLE {
            config.keepalives_idle(KEEPALIVE_IDLE);
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(KEEPALIVE_INTERVAL);
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(KEEPALIVE_RETRIES);
        }
        Postgres { config, tls }
    }

    /// The connection configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl<T: PgTls> Driver for Postgres<T> {
    type Connection = PgConnection<T>;
    type QueryBuilder = tethered_core::sea_query::PostgresQueryBuilder;
    const INSERT_RETURNING: bool = true;
    // The Bind message counts its parameters in 16 bits.
    const MAX_PARAMETERS: usize = u16::MAX as usize;
    const STOPPED_COMMIT_ROLLS_BACK: bool = true;

    async fn connect(&self, ctx: &Ctx) -> Result<PgConnection<T>> {
        let (client, cancel_target) =
            hosts::connect(&self.config, &self.tls, ctx.remaining()).await?;
        Ok(PgConnection::new(client, self.tls.clone(), cancel_target))
    }

    /// `postgresql`, the database, and the first host and port of the configuration (of
    /// several, the one connected to may be another).
    fn endpoint(&self) -> Endpoint {
        let config = &self.config;
        let address = config.get_hosts().first().map(|host| match host {
            Host::Tcp(name) => name.as_str().into(),
            Host::Unix(path) => path.to_string_lossy().into(),
        });
        Endpoint {
            namespace: config.get_dbname().map(Into::into),
            address,
            port: config.get_ports().first().copied().or(Some(5432)),
            ..Endpoint::new("postgresql")
        }
    }
}
