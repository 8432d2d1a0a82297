//! The MySQL/MariaDB driver: where to connect, and how a new session is set up.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use tethered_core::{Ctx, Driver, Endpoint, Error, Pool, PoolOptions, Result};

use crate::cancel::{KillLines, ServerIdentity};
use crate::connection::MyConnection;
use crate::error::connect_error;
use crate::flavour::Flavour;

/// Silence on a connection before the first TCP keepalive probe, unless the options say
/// otherwise (the OS then probes at its own interval, and gives up after its own count).
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// A pool of MySQL/MariaDB connections.
pub type MyPool = Pool<MySql>;

/// Opens a pool for `url` (`mysql://user[:password]@host[:port]/database`) and checks,
/// under `ctx`, that a connection can be made.
///
/// Cancel safe: dropped, no connection is left open.
pub async fn connect(ctx: &Ctx, url: &str, options: PoolOptions) -> Result<MyPool> {
    let pool = Pool::new(MySql::from_url(url)?, options)?;
    drop(pool.acquire(ctx).await?);
    Ok(pool)
}

/// The MySQL/MariaDB driver: connection options, and the kill line every connection it
/// opens is cancelled through (one extra connection per driver, outside the pool).
///
/// Each connection it opens is a plain `mysql_async::Conn` (mysql_async's own pool is not
/// used: tethered's [`Pool`] is the pool). A new session is switched to strict mode
/// (`STRICT_ALL_TABLES` added to its `sql_mode`), so a value that does not fit its column is
/// an error, never a silent truncation, and to UTC (`time_zone = '+00:00'`), so `TIMESTAMP`
/// columns and `NOW()` agree with `DateTime<Utc>` values; the server's flavour is read from
/// `@@version`.
///
/// Its `Debug` shows where it connects, never the password.
#[derive(Clone)]
pub struct MySql {
    opts: Opts,
    kill_lines: Arc<KillLines>,
}

impl MySql {
    /// A driver for `url`. A malformed URL is [`Error::InvalidInput`]. mysql_async's URL
    /// parameters apply (`prefer_socket`, ...).
    pub fn from_url(url: &str) -> Result<MySql> {
        let opts = Opts::from_url(url)
            .map_err(|error| Error::InvalidInput(format!("not a MySQL URL: {error}")))?;
        Ok(MySql::new(opts))
    }

    /// A driver for `opts`. Prepared statements are cached by tethered, per connection, so
    /// mysql_async's own statement cache is turned off. Without a `tcp_keepalive` of their
    /// own, connections probe a silent peer after [`KEEPALIVE_IDLE`] (the OS's default is 2
    /// hours), so one that vanished is found out and replaced.
    pub fn new(opts: Opts) -> MySql {
        let keepalive = opts.tcp_keepalive().or(Some(KEEPALIVE_IDLE));
        let opts: Opts = OptsBuilder::from_opts(opts)
            .stmt_cache_size(0)
            .tcp_keepalive(keepalive)
            .into();
        MySql {
            kill_lines: Arc::new(KillLines::new(opts.clone())),
            opts,
        }
    }

    /// The connection options.
    pub fn opts(&self) -> &Opts {
        &self.opts
    }
}

impl std::fmt::Debug for MySql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not derived: mysql_async's `Opts` prints the password.
        let opts = &self.opts;
        f.debug_struct("MySql")
            .field("host", &opts.ip_or_hostname())
            .field("port", &opts.tcp_port())
            .field("user", &opts.user())
            .field("password", &opts.pass().map(|_| "<redacted>"))
            .field("database", &opts.db_name())
            .finish_non_exhaustive()
    }
}

impl Driver for MySql {
    type Connection = MyConnection;
    type QueryBuilder = tethered_core::sea_query::MysqlQueryBuilder;
    // MariaDB has it since 10.5, MySQL 8 not at all; the flavour is only known per
    // connection, and reading the row back by its key works on both.
    const INSERT_RETURNING: bool = false;
    // A prepared statement with more placeholders is refused with error 1390
    // (ER_PS_MANY_PARAM): the protocol counts them in 16 bits.
    const MAX_PARAMETERS: usize = u16::MAX as usize;

    // A kill reaching a COMMIT in the binary log's group commit is not documented to roll
    // it back.
    const STOPPED_COMMIT_ROLLS_BACK: bool = false;

    /// `mysql` (MariaDB speaks it too; the flavour is only known per connection), the
    /// database, host and port.
    fn endpoint(&self) -> Endpoint {
        let opts = &self.opts;
        Endpoint {
            namespace: opts.db_name().map(Into::into),
            address: Some(opts.ip_or_hostname().into()),
            port: Some(opts.tcp_port()),
            ..Endpoint::new("mysql")
        }
    }

    async fn connect(&self, _: &Ctx) -> Result<MyConnection> {
        let mut conn = Conn::new(self.opts.clone()).await.map_err(connect_error)?;
        let (flavour, server, max_packet) = set_up(&mut conn).await.map_err(connect_error)?;
        // Then the line to cancel it by, on the same server: no connection is handed out
        // that cannot be stopped.
        self.kill_lines.open(&server).await?;
        Ok(MyConnection::new(
            conn,
            flavour,
            server,
            max_packet,
            Arc::clone(&self.kill_lines),
        ))
    }
}

/// Makes the session strict and in UTC (so a `TIMESTAMP` column reads and writes the
/// same instants as a `DateTime<Utc>`, whatever the server's zone), and reads which server it is (its flavour, and its identity
/// for kills), and the largest packet it takes (`max_allowed_packet`).
async fn set_up(conn: &mut Conn) -> mysql_async::Result<(Flavour, ServerIdentity, usize)> {
    conn.query_drop(
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES'), \
         time_zone = '+00:00'",
    )
    .await?;
    let said: Option<(String, String, u64)> = conn
        .query_first(format!(
            "SELECT @@version, {}, @@max_allowed_packet",
            ServerIdentity::EXPRESSION
        ))
        .await?;
    let (version, server, max_packet) = said.unwrap_or_default();
    Ok((
        Flavour::from_version(&version),
        ServerIdentity::new(server),
        usize::try_from(max_packet).unwrap_or(usize::MAX),
    ))
}
