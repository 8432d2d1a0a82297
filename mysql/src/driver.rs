//! The MySQL/MariaDB driver: where to connect, and how a new session is set up.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use tethered_core::{Ctx, Driver, Error, Pool, PoolOptions, Result};

use crate::cancel::{KillLines, ServerIdentity};
use crate::connection::MyConnection;
use crate::error::connect_error;
use crate::flavour::Flavour;

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
/// an error, never a silent truncation, and the server's flavour is read from `@@version`.
#[derive(Clone, Debug)]
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
    /// mysql_async's own statement cache is turned off.
    pub fn new(opts: Opts) -> MySql {
        let opts: Opts = OptsBuilder::from_opts(opts).stmt_cache_size(0).into();
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

impl Driver for MySql {
    type Connection = MyConnection;
    type QueryBuilder = tethered_core::sea_query::MysqlQueryBuilder;
    // MariaDB has it since 10.5, MySQL 8 not at all; the flavour is only known per
    // connection, and reading the row back by its key works on both.
    const INSERT_RETURNING: bool = false;

    // A kill reaching a COMMIT in the binary log's group commit is not documented to roll
    // it back.
    const STOPPED_COMMIT_ROLLS_BACK: bool = false;

    async fn connect(&self) -> Result<MyConnection> {
        let mut conn = Conn::new(self.opts.clone()).await.map_err(connect_error)?;
        let (flavour, server) = set_up(&mut conn).await.map_err(connect_error)?;
        // Then the line to cancel it by, on the same server: no connection is handed out
        // that cannot be stopped.
        self.kill_lines.open(&server).await?;
        Ok(MyConnection::new(
            conn,
            flavour,
            server,
            Arc::clone(&self.kill_lines),
        ))
    }
}

/// Makes the session strict and reads which server it is (its flavour, and its identity
/// for kills).
async fn set_up(conn: &mut Conn) -> mysql_async::Result<(Flavour, ServerIdentity)> {
    conn.query_drop(
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')",
    )
    .await?;
    let said: Option<(String, String)> = conn
        .query_first(format!("SELECT @@version, {}", ServerIdentity::EXPRESSION))
        .await?;
    let (version, server) = said.unwrap_or_default();
    Ok((Flavour::from_version(&version), ServerIdentity::new(server)))
}
