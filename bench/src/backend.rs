//! What differs between PostgreSQL, MySQL/MariaDB and SQLite: the SQL dialect, how each
//! contestant connects, and where the database shows its running statements.

use std::future::Future;
use std::time::Duration;

use tethered::{Ctx, Pool, PoolOptions};
use tokio::time::Instant;

use crate::contestant::{Contestant, Result, Statements};

/// The tables of one run, named uniquely so that concurrent runs (and other agents' tests
/// on the same servers) never collide; dropped at the end.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Filled with [`ROWS`] rows; read by the select workloads.
    pub items: String,
    /// Empty at first; the insert workload writes here.
    pub inserts: String,
}

/// Rows in the items table. A range of 1,000 is 1% of it, so the planners use the key.
pub const ROWS: i64 = 100_000;

impl Tables {
    /// The tables of the run tagged `tag`.
    pub fn new(tag: &str) -> Tables {
        Tables {
            items: format!("tethered_bench_{tag}_items"),
            inserts: format!("tethered_bench_{tag}_inserts"),
        }
    }
}

/// A connection of the harness's own, outside every contestant's pool: it creates and drops
/// the tables and watches the server's activity view.
pub trait Observer: Send {
    /// Runs a statement that returns nothing.
    fn execute(&mut self, sql: &str) -> impl Future<Output = Result<()>> + Send;

    /// How many statements of other sessions whose text contains `marker` are running now,
    /// as the server's activity view (`pg_stat_activity`,
    /// `information_schema.PROCESSLIST`) shows them.
    fn running(&mut self, marker: &str) -> impl Future<Output = Result<u64>> + Send;

    /// When the statement marked `marker`, no longer [running](Observer::running), was last
    /// seen at work, where the view knows it (SQLite's counter: its last tick, some time
    /// before the view calls it stopped); `None` where the first look that no longer shows
    /// it is all there is (a server's activity view).
    fn stopped_at(
        &mut self,
        _marker: &str,
    ) -> impl Future<Output = Result<Option<Instant>>> + Send {
        async { Ok(None) }
    }

    /// How many statements the server has prepared, for every session (MySQL/MariaDB's
    /// global `Com_stmt_prepare`), where the server counts them; `None` where it does not
    /// (PostgreSQL, without extensions). A check that contestants prepare once and reuse.
    fn statements_prepared(&mut self) -> impl Future<Output = Result<Option<u64>>> + Send;

    /// The server's version string.
    fn server_version(&mut self) -> impl Future<Output = Result<String>> + Send;
}

/// A database and the contestants that talk to it.
pub trait Backend: 'static {
    /// The backend's name in the table and the JSON.
    const NAME: &'static str;
    /// Whether the database runs in this process (SQLite): no network, so no round trips
    /// to count.
    const EMBEDDED: bool = false;
    /// What [`Backend::sleep`] runs, for the cancellation table's title.
    const LONG_STATEMENT: &'static str = "a server-side sleep";
    /// The environment variable that overrides the URL.
    const URL_VARIABLE: &'static str;
    /// The URL without an override.
    const DEFAULT_URL: &'static str;

    /// The raw driver.
    type Raw: Contestant;
    /// sqlx.
    type Sqlx: Contestant;
    /// tethered.
    type Tethered: Contestant;
    /// tethered's driver for this backend.
    type Driver: tethered::Driver;
    /// The harness's own connection.
    type Observer: Observer;

    /// The server's URL.
    fn url() -> String {
        std::env::var(Self::URL_VARIABLE).unwrap_or_else(|_| Self::DEFAULT_URL.to_owned())
    }

    /// `url` kept on TCP (a driver that would move to the server's Unix socket is told not
    /// to), for a measurement through a proxy.
    fn over_tcp(url: &str) -> String {
        url.to_owned()
    }

    /// The statements every contestant runs on `tables`.
    fn statements(tables: &Tables) -> Statements;

    /// Creates `tables` and fills the items table with [`ROWS`] rows.
    fn create_tables(tables: &Tables) -> Vec<String>;

    /// Drops `tables`.
    fn drop_tables(tables: &Tables) -> Vec<String> {
        [&tables.items, &tables.inserts]
            .iter()
            .map(|table| format!("DROP TABLE IF EXISTS {table}"))
            .collect()
    }

    /// A statement that sleeps `seconds` on the server (or otherwise runs about that long)
    /// and carries `marker` in its text, so the activity view can find it.
    fn sleep(seconds: u64, marker: &str) -> String;

    /// A statement that yields one `BIGINT` column, row after row as fast as the server
    /// makes them, for far longer than any trial, and carries `marker` in its text.
    fn flood(marker: &str) -> String;

    /// Opens the observer.
    fn observer(url: &str) -> impl Future<Output = Result<Self::Observer>> + Send;

    /// The raw driver on `connections` connections.
    fn raw(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> impl Future<Output = Result<Self::Raw>> + Send;

    /// sqlx on `connections` connections.
    fn sqlx(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> impl Future<Output = Result<Self::Sqlx>> + Send;

    /// tethered on `connections` connections, each operation under a request scope with
    /// `request_budget` left (`None`: under the root context itself).
    fn tethered(
        url: &str,
        statements: Statements,
        connections: usize,
        request_budget: Option<Duration>,
    ) -> impl Future<Output = Result<Self::Tethered>> + Send;

    /// A tethered pool of `connections` connections to `url`, opened under `ctx`.
    fn tethered_pool(
        ctx: &Ctx,
        url: &str,
        connections: usize,
    ) -> impl Future<Output = Result<Pool<Self::Driver>>> + Send;
}

/// The options of every tethered pool of the bench: `connections` connections, the rest
/// tethered's defaults.
pub fn tethered_options(connections: usize) -> PoolOptions {
    PoolOptions {
        max_connections: connections,
        ..PoolOptions::default()
    }
}
