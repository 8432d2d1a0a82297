//! SQLite: its dialect, its contestants, and the engine's view of what runs (SQLite has no
//! activity view: every connection registers the suite's counter functions,
//! `tethered_tests::sqlite_view`, and the long statement ticks its marker once per row).
//!
//! sqlx runs in a child process of its own (`sqlx_sqlite.rs`): sqlx-sqlite 0.9 links SQLite
//! through `libsqlite3-sys >=0.30.1, <0.38.0`, and rusqlite 0.43, which tethered-sqlite is
//! built on, through `libsqlite3-sys 0.40`. Both declare `links = "sqlite3"`, and Cargo
//! allows one package per `links` value in a build (bench/README.md).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tethered::sqlite::Sqlite;
use tethered::sqlite::rusqlite::{self, Connection, OpenFlags};
use tethered::{Ctx, Pool};
use tethered_tests::sqlite_view;

use crate::backend::{Backend, Observer, ROWS, Tables, tethered_options};
use crate::contestant::{Result, Statements};
use crate::mysql::MySqlBackend;
use crate::raw_sqlite::RawSqlite;
use crate::sqlx_sqlite::{self, SqlxSqlite};
use crate::tethered_contestant::Tethered;

/// SQLite, embedded: a database file every contestant opens.
pub struct SqliteBackend;

/// Rows per second the long statement counts on this machine, measured when the observer
/// opens (see [`calibrate`]), so that [`SqliteBackend::sleep`] lasts the seconds asked.
static COUNTED_PER_SECOND: OnceLock<f64> = OnceLock::new();

/// The observer: a rusqlite connection of its own on the same file. Its calls take
/// microseconds (the view is a registry in this process), so it runs them in place.
pub struct SqliteObserver {
    conn: Connection,
}

/// The database file `url` (`sqlite:///path/to/file.db`) names.
fn path(url: &str) -> Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .ok_or_else(|| format!("{url}: not an SQLite URL (sqlite:///path/to/file.db)"))?;
    Ok(PathBuf::from(path))
}

/// What every raw connection runs first: the pragmas tethered-sqlite sets on each of its
/// connections (WAL, `synchronous = NORMAL`, foreign keys, a wait for a writer's lock) and
/// the view's functions, as on tethered's.
fn set_up(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(tethered::sqlite::DEFAULT_BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    sqlite_view::install(conn)
}

/// A count to `rows` that calls the view's counter once per row: CPU-bound work in the
/// engine, seen running while the counter for `marker` moves.
fn count(rows: u64, marker: &str) -> String {
    format!(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
         WHERE tethered_tick('{marker}') AND x < {rows}) SELECT count(*), '{marker}' FROM c"
    )
}

/// Times a count of a million rows on `conn`, and keeps the rate for
/// [`SqliteBackend::sleep`] (the first measurement of the process).
fn calibrate(conn: &Connection) -> Result<()> {
    const ROWS_TIMED: u64 = 1_000_000;
    let started = Instant::now();
    conn.query_row(&count(ROWS_TIMED, "tethered-bench calibration"), [], |_| {
        Ok(())
    })?;
    let rate = ROWS_TIMED as f64 / started.elapsed().as_secs_f64();
    COUNTED_PER_SECOND.get_or_init(|| rate);
    Ok(())
}

impl Observer for SqliteObserver {
    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql)?;
        Ok(())
    }

    /// This process's statements and the sqlx-sqlite children's.
    async fn running(&mut self, marker: &str) -> Result<u64> {
        let pattern = format!("%{marker}%");
        let running: i64 =
            self.conn
                .query_row("SELECT tethered_running(?)", [&pattern], |row| row.get(0))?;
        let in_children = sqlx_sqlite::running(&pattern).await?;
        // A server's view costs a round trip, which lets the statement's caller run
        // meanwhile; this one may answer at once, so give the caller its turn here.
        tokio::task::yield_now().await;
        Ok(u64::try_from(running)? + in_children)
    }

    async fn stopped_at(&mut self, marker: &str) -> Result<Option<tokio::time::Instant>> {
        let pattern = format!("%{marker}%");
        let quiet: Option<i64> =
            self.conn
                .query_row("SELECT tethered_quiet_micros(?)", [&pattern], |row| {
                    row.get(0)
                })?;
        let here = quiet
            .map(u64::try_from)
            .transpose()?
            .map(Duration::from_micros);
        let in_children = sqlx_sqlite::quiet_for(&pattern).await?;
        let now = tokio::time::Instant::now();
        Ok(match (here, in_children) {
            (Some(here), Some(there)) => now.checked_sub(here.min(there)),
            (Some(quiet), None) | (None, Some(quiet)) => now.checked_sub(quiet),
            (None, None) => None,
        })
    }

    async fn statements_prepared(&mut self) -> Result<Option<u64>> {
        Ok(None)
    }

    async fn server_version(&mut self) -> Result<String> {
        let version: String = self
            .conn
            .query_row("SELECT sqlite_version()", [], |row| row.get(0))?;
        Ok(format!("SQLite {version}, bundled by rusqlite"))
    }
}

impl Backend for SqliteBackend {
    const NAME: &'static str = "sqlite";
    const URL_VARIABLE: &'static str = "TETHERED_BENCH_SQLITE_URL";
    const DEFAULT_URL: &'static str = "sqlite:///tmp/tethered-bench.db";
    const EMBEDDED: bool = true;
    const LONG_STATEMENT: &'static str = "a CPU-bound count in the engine";

    type Raw = RawSqlite;
    type Sqlx = SqlxSqlite;
    type Tethered = Tethered<Sqlite>;
    type Driver = Sqlite;
    type Observer = SqliteObserver;

    /// MySQL's texts: the same `?` placeholders, the same SQL.
    fn statements(tables: &Tables) -> Statements {
        MySqlBackend::statements(tables)
    }

    fn create_tables(tables: &Tables) -> Vec<String> {
        let Tables { items, inserts } = tables;
        let columns = "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL)";
        vec![
            format!("CREATE TABLE {items} {columns}"),
            format!("CREATE TABLE {inserts} {columns}"),
            format!(
                "INSERT INTO {items} WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL \
                 SELECT x + 1 FROM g WHERE x < {ROWS}) SELECT x, 'item ' || x, x * 7 FROM g"
            ),
            format!("ANALYZE {items}"),
        ]
    }

    /// The count's rows themselves, ticking the engine view as each is made.
    fn flood(marker: &str) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE tethered_tick('{marker}') AND x < 1000000000000) SELECT x FROM c"
        )
    }

    /// A count that takes about `seconds` on this machine (measured as the observer
    /// opened): SQLite has no sleep, and the comparison is of a CPU-bound statement.
    fn sleep(seconds: u64, marker: &str) -> String {
        let rate = COUNTED_PER_SECOND
            .get()
            .expect("the observer measures the count's rate when it opens");
        count((rate * seconds as f64) as u64, marker)
    }

    async fn observer(url: &str) -> Result<SqliteObserver> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let conn = Connection::open_with_flags(path(url)?, flags)?;
        set_up(&conn)?;
        calibrate(&conn)?;
        Ok(SqliteObserver { conn })
    }

    async fn raw(url: &str, statements: Statements, connections: usize) -> Result<RawSqlite> {
        RawSqlite::connect(&path(url)?, set_up, statements, connections)
    }

    async fn sqlx(url: &str, statements: Statements, connections: usize) -> Result<SqlxSqlite> {
        let busy_timeout = tethered::sqlite::DEFAULT_BUSY_TIMEOUT;
        let path = path(url)?;
        let sqlx = SqlxSqlite::connect(&path, busy_timeout, statements, connections);
        sqlx.await
    }

    async fn tethered(
        url: &str,
        statements: Statements,
        connections: usize,
        request_budget: Option<Duration>,
    ) -> Result<Tethered<Sqlite>> {
        let root = Ctx::background();
        let pool = Self::tethered_pool(&root, url, connections).await?;
        Ok(Tethered::new(pool, root, request_budget, statements))
    }

    /// With the engine view's functions, which the observer reads.
    async fn tethered_pool(ctx: &Ctx, url: &str, connections: usize) -> Result<Pool<Sqlite>> {
        let driver = Sqlite::from_url(url)?.on_open(sqlite_view::install);
        let pool = Pool::new(driver, tethered_options(connections))?;
        drop(pool.acquire(ctx).await?);
        Ok(pool)
    }
}
