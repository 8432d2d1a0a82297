//! What the suite needs to know of a backend: how to reach a test server in a namespace of
//! its own, the SQL of a server-side sleep, and how to read the server's own view of what
//! runs. Adding a backend is one impl here and one line in `tests/tests/suite.rs`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tethered::mysql::{MySql as MyDriver, mysql_async};
use tethered::postgres::{Postgres as PgDriver, tokio_postgres};
use tethered::sqlite::Sqlite as SqliteDriver;
use tethered::{Ctx, Driver, Executor, Pool, PoolConnection, PoolOptions};
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::throwaway::Kind;

/// A database backend the suite runs against.
pub trait Backend: Send + Sync + 'static {
    /// The tethered driver.
    type Driver: Driver;
    /// For messages.
    const NAME: &'static str;
    /// The environment variable naming the test server.
    const URL_VARIABLE: &'static str;
    /// The test server when the variable is unset.
    const DEFAULT_URL: &'static str;
    /// Whether a `u64` above `i64::MAX` can be stored (PostgreSQL has no unsigned types).
    const STORES_ANY_U64: bool;

    /// A pool on `url`, confined to the namespace `namespace` (a PostgreSQL schema, a
    /// MariaDB database).
    fn pool_in(
        url: &str,
        namespace: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<Self::Driver>>;

    /// Statements that create and drop `namespace`.
    fn create_namespace(namespace: &str) -> String;
    /// See [`Backend::create_namespace`].
    fn drop_namespace(namespace: &str) -> String;

    /// The server's sleep function, taking seconds.
    const SLEEP: &'static str;

    /// The OpenTelemetry conventions' `db.system.name` of the backend.
    const SYSTEM_NAME: &'static str;

    /// The `n`th placeholder (from 1) in raw SQL.
    fn placeholder(n: usize) -> String;

    /// A CPU-bound statement that runs for minutes unless stopped, tagged with `marker`.
    fn busy(marker: &str) -> String;

    /// A query returning the session's id on the server, as a `u64`.
    const SESSION_ID: &'static str;

    /// A statement that ends session `id` from another session.
    fn terminate(id: u64) -> String;

    /// A statement setting the session's own statement time limit, which tethered manages.
    const SET_SESSION_TIME_LIMIT: &'static str;

    /// The server's own view of the statements whose text holds `marker`, read through
    /// `observer` under `ctx` (never counting the observer's own statement).
    fn view(
        observer: &Pool<Self::Driver>,
        ctx: &Ctx,
        marker: &str,
    ) -> impl Future<Output = tethered::Result<View>> + Send;

    /// How long after a context's deadline the server's own limit fires, at least (the
    /// backend's `SERVER_LIMIT_MARGIN`; the limit is then rounded up).
    const SERVER_LIMIT_MARGIN: Duration;

    /// A statement that stops the statement session `id` runs, from another session.
    fn stop_statement(id: u64) -> String;

    /// The tethered driver for `url`, confined to `namespace` (see [`Backend::pool_in`]).
    fn driver_in(url: &str, namespace: &str) -> tethered::Result<Self::Driver>;

    /// The backend's public `connect`: a pool for `url`, checked under `ctx`.
    fn connect(
        ctx: &Ctx,
        url: &str,
        options: PoolOptions,
    ) -> impl Future<Output = tethered::Result<Pool<Self::Driver>>> + Send;

    /// The kind of throwaway server ([`crate::throwaway`]) this backend runs on.
    const THROWAWAY: Kind;

    /// A statement that makes the server close this session after one idle second
    /// (PostgreSQL's `idle_session_timeout`, MariaDB's `wait_timeout`), for this session
    /// only.
    const EXPIRE_WHEN_IDLE_FOR_A_SECOND: &'static str;

    /// Whether the server has a session with id `session`, by its own view, read through
    /// `observer` under `ctx`.
    fn session_exists(
        observer: &Pool<Self::Driver>,
        ctx: &Ctx,
        session: u64,
    ) -> impl Future<Output = tethered::Result<bool>> + Send;

    /// What follows `CREATE TABLE (...)` for a table with foreign keys and row locks
    /// (MariaDB: InnoDB, said rather than left to the server's default engine).
    const TABLE_OPTIONS: &'static str;

    /// The type `CAST(... AS <it>)` names for an `i64` (an aggregate's `numeric` or
    /// `DECIMAL`, read as an integer).
    const SIGNED: &'static str;

    /// A statement making the session's transactions fail, rather than overwrite, when they
    /// write a row another transaction changed since their snapshot: PostgreSQL's
    /// `REPEATABLE READ`; MariaDB's `REPEATABLE READ` with `innodb_snapshot_isolation`
    /// (10.6.20, 10.11.10, 11.4.4 and later; without it MariaDB never reports a
    /// serialization failure).
    const SNAPSHOT_ISOLATION: &'static str;

    /// A query returning the TCP port the session's server listens on, as an `i64`: which
    /// server of several on one host a session is on.
    const SERVER_PORT: &'static str;

    /// Whether session ids are the server's own, so two servers give out the same ones
    /// (MariaDB's connection ids); PostgreSQL's are process ids, unique on the host.
    const SESSION_IDS_PER_SERVER: bool;

    /// A query yielding the integers 1 to `count` as one `BIGINT` column, each row as the
    /// server makes it (never materialised first), tagged with `marker`.
    fn series(count: u64, marker: &str) -> String;

    /// A statement that sleeps `seconds` on the server, tagged with `marker`.
    fn sleep(seconds: u32, marker: &str) -> String {
        format!("SELECT {}({seconds}) /* {marker} */", Self::SLEEP)
    }

    /// `url` with whatever keeps the driver on TCP to the host it names (so that a proxy
    /// there sees every byte).
    fn over_tcp(url: &str) -> String {
        url.to_owned()
    }

    /// The test server's URL.
    fn url() -> String {
        std::env::var(Self::URL_VARIABLE).unwrap_or_else(|_| Self::DEFAULT_URL.to_owned())
    }
}

/// PostgreSQL.
pub struct Postgres;

impl Backend for Postgres {
    type Driver = PgDriver;
    const NAME: &'static str = "PostgreSQL";
    const URL_VARIABLE: &'static str = "TETHERED_POSTGRES_URL";
    const DEFAULT_URL: &'static str = "postgres://postgres@127.0.0.1:5432/test";
    const STORES_ANY_U64: bool = false;

    fn pool_in(
        url: &str,
        namespace: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<PgDriver>> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| tethered::Error::InvalidInput(format!("{url}: {error}")))?;
        config.options(format!("-c search_path={namespace}"));
        Pool::new(PgDriver::new(config, tokio_postgres::NoTls), options)
    }

    fn create_namespace(namespace: &str) -> String {
        format!("CREATE SCHEMA {namespace}")
    }

    fn drop_namespace(namespace: &str) -> String {
        format!("DROP SCHEMA {namespace} CASCADE")
    }

    fn driver_in(url: &str, namespace: &str) -> tethered::Result<PgDriver> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|error| tethered::Error::InvalidInput(format!("{url}: {error}")))?;
        config.options(format!("-c search_path={namespace}"));
        Ok(PgDriver::new(config, tokio_postgres::NoTls))
    }

    async fn connect(
        ctx: &Ctx,
        url: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<PgDriver>> {
        tethered::postgres::connect(ctx, url, options).await
    }

    const THROWAWAY: Kind = Kind::Postgres;
    const EXPIRE_WHEN_IDLE_FOR_A_SECOND: &'static str = "SET idle_session_timeout = 1000";
    async fn session_exists(
        observer: &Pool<PgDriver>,
        ctx: &Ctx,
        session: u64,
    ) -> tethered::Result<bool> {
        let query = format!("SELECT count(*) FROM pg_stat_activity WHERE pid = {session}");
        let (count,): (i64,) = observer.fetch_one(ctx, query).await?;
        Ok(count > 0)
    }
    const TABLE_OPTIONS: &'static str = "";
    const SIGNED: &'static str = "BIGINT";
    const SNAPSHOT_ISOLATION: &'static str =
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ";
    const SERVER_PORT: &'static str = "SELECT inet_server_port()::int8";
    const SESSION_IDS_PER_SERVER: bool = false;

    const SLEEP: &'static str = "pg_sleep";
    const SYSTEM_NAME: &'static str = "postgresql";
    const SET_SESSION_TIME_LIMIT: &'static str = "SET statement_timeout = 7000";
    const SESSION_ID: &'static str = "SELECT pg_backend_pid()";
    async fn view(observer: &Pool<PgDriver>, ctx: &Ctx, marker: &str) -> tethered::Result<View> {
        let query = format!(
            "SELECT pid::int8, state = 'active', concat_ws(' ', pid, state, wait_event_type, \
             wait_event, round(extract(epoch FROM now() - query_start) * 1000) || ' ms') \
             FROM pg_stat_activity WHERE query LIKE {} AND pid <> pg_backend_pid()",
            like_pattern(marker)
        );
        let seen: Vec<(u64, Option<bool>, String)> = observer.fetch_all(ctx, query).await?;
        Ok(View::of(seen.into_iter().map(|(session, active, line)| {
            (session, active == Some(true), line)
        })))
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn busy(marker: &str) -> String {
        // In the select list, generate_series yields one value at a time; in FROM it would
        // first materialise the whole series, spilling to disk.
        format!("SELECT count(*) FROM (SELECT generate_series(1, 10000000000)) AS s /* {marker} */")
    }

    fn terminate(id: u64) -> String {
        format!("SELECT pg_terminate_backend({id})")
    }

    fn series(count: u64, marker: &str) -> String {
        // In the select list, as in `busy`: one value at a time.
        format!("SELECT generate_series(1::int8, {count}) /* {marker} */")
    }

    const SERVER_LIMIT_MARGIN: Duration = tethered::postgres::SERVER_LIMIT_MARGIN;

    fn stop_statement(id: u64) -> String {
        format!("SELECT pg_cancel_backend({id})")
    }
}

/// MariaDB (or MySQL).
pub struct MySql;

impl Backend for MySql {
    type Driver = MyDriver;
    const NAME: &'static str = "MariaDB";
    const URL_VARIABLE: &'static str = "TETHERED_MYSQL_URL";
    const DEFAULT_URL: &'static str = "mysql://root@127.0.0.1:3306/test";
    const STORES_ANY_U64: bool = true;

    fn pool_in(
        url: &str,
        namespace: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<MyDriver>> {
        let opts = mysql_async::Opts::from_url(url)
            .map_err(|error| tethered::Error::InvalidInput(format!("{url}: {error}")))?;
        let opts = mysql_async::OptsBuilder::from_opts(opts).db_name(Some(namespace));
        Pool::new(MyDriver::new(opts.into()), options)
    }

    fn create_namespace(namespace: &str) -> String {
        // The character set said, not left to the server's default (a throwaway MariaDB
        // started without the distribution's my.cnf is latin1).
        format!("CREATE DATABASE {namespace} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    }

    fn drop_namespace(namespace: &str) -> String {
        format!("DROP DATABASE {namespace}")
    }

    fn driver_in(url: &str, namespace: &str) -> tethered::Result<MyDriver> {
        let opts = mysql_async::Opts::from_url(url)
            .map_err(|error| tethered::Error::InvalidInput(format!("{url}: {error}")))?;
        let opts = mysql_async::OptsBuilder::from_opts(opts).db_name(Some(namespace));
        Ok(MyDriver::new(opts.into()))
    }

    async fn connect(
        ctx: &Ctx,
        url: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<MyDriver>> {
        tethered::mysql::connect(ctx, url, options).await
    }

    const THROWAWAY: Kind = Kind::MariaDb;
    const EXPIRE_WHEN_IDLE_FOR_A_SECOND: &'static str = "SET SESSION wait_timeout = 1";
    async fn session_exists(
        observer: &Pool<MyDriver>,
        ctx: &Ctx,
        session: u64,
    ) -> tethered::Result<bool> {
        Ok(processlist(observer, ctx)
            .await?
            .iter()
            .any(|process| process.0 == session))
    }
    const TABLE_OPTIONS: &'static str = " ENGINE=InnoDB";
    const SIGNED: &'static str = "SIGNED";
    const SNAPSHOT_ISOLATION: &'static str = "SET SESSION tx_isolation = 'REPEATABLE-READ', \
         SESSION innodb_snapshot_isolation = ON";
    const SERVER_PORT: &'static str = "SELECT CAST(@@port AS SIGNED)";
    const SESSION_IDS_PER_SERVER: bool = true;

    const SLEEP: &'static str = "SLEEP";
    const SYSTEM_NAME: &'static str = "mysql";
    const SET_SESSION_TIME_LIMIT: &'static str = "SET SESSION max_statement_time = 7";
    const SESSION_ID: &'static str = "SELECT CONNECTION_ID()";
    async fn view(observer: &Pool<MyDriver>, ctx: &Ctx, marker: &str) -> tethered::Result<View> {
        let processes = processlist(observer, ctx).await?;
        Ok(View::of(processes.into_iter().filter_map(
            |(id, _, _, _, command, time, state, info)| {
                info.filter(|info| info.contains(marker))?;
                let state = state.unwrap_or_default();
                Some((
                    id,
                    command == "Query",
                    format!("{id} {command} {state} {time} s"),
                ))
            },
        )))
    }

    fn placeholder(_: usize) -> String {
        "?".to_owned()
    }

    fn busy(marker: &str) -> String {
        // MariaDB's sequence engine: 10^10 rows of cross join, counted.
        format!("SELECT count(*) FROM seq_1_to_100000 a, seq_1_to_100000 b /* {marker} */")
    }

    fn terminate(id: u64) -> String {
        format!("KILL CONNECTION {id}")
    }

    fn series(count: u64, marker: &str) -> String {
        // The sequence engine makes each row as it is read.
        format!("SELECT CAST(seq AS SIGNED) FROM seq_1_to_{count} /* {marker} */")
    }

    const SERVER_LIMIT_MARGIN: Duration = tethered::mysql::SERVER_LIMIT_MARGIN;

    fn stop_statement(id: u64) -> String {
        format!("KILL QUERY {id}")
    }

    /// mysql_async moves to the server's Unix socket when the host is local, unless told not
    /// to.
    fn over_tcp(url: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}prefer_socket=false")
    }
}

/// SQLite, embedded: each namespace is a database file of its own in the directory the URL
/// names, and the server's view is [`crate::sqlite_view`]'s counters. Only the tests that
/// need no real server run on it (`embedded_suite!`): the constants those others use
/// (sessions ended from outside, throwaway servers, ports) are placeholders here.
pub struct Sqlite;

impl Backend for Sqlite {
    type Driver = SqliteDriver;
    const NAME: &'static str = "SQLite";
    const URL_VARIABLE: &'static str = "TETHERED_SQLITE_URL";
    /// A directory: each test's database is a file in it.
    const DEFAULT_URL: &'static str = "sqlite:///tmp/tethered-suite";
    const STORES_ANY_U64: bool = false;

    fn pool_in(
        url: &str,
        namespace: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<SqliteDriver>> {
        Pool::new(Self::driver_in(url, namespace)?, options)
    }

    // The file is created when the first connection opens it.
    fn create_namespace(_: &str) -> String {
        "SELECT 1".to_owned()
    }

    fn drop_namespace(_: &str) -> String {
        "SELECT 1".to_owned()
    }

    fn driver_in(url: &str, namespace: &str) -> tethered::Result<SqliteDriver> {
        let dir = url.strip_prefix("sqlite://").ok_or_else(|| {
            tethered::Error::InvalidInput(format!("{url}: not an SQLite directory URL"))
        })?;
        std::fs::create_dir_all(dir)
            .map_err(|error| tethered::Error::InvalidInput(format!("{dir}: {error}")))?;
        Ok(
            SqliteDriver::from_url(&format!("sqlite://{dir}/{namespace}.db"))?
                .on_open(crate::sqlite_view::install),
        )
    }

    async fn connect(
        ctx: &Ctx,
        url: &str,
        options: PoolOptions,
    ) -> tethered::Result<Pool<SqliteDriver>> {
        tethered::sqlite::connect(ctx, url, options).await
    }

    const THROWAWAY: Kind = Kind::Postgres;
    const EXPIRE_WHEN_IDLE_FOR_A_SECOND: &'static str = "SELECT 1";
    async fn session_exists(
        observer: &Pool<SqliteDriver>,
        ctx: &Ctx,
        session: u64,
    ) -> tethered::Result<bool> {
        let query = format!("SELECT tethered_session_exists({session})");
        let (count,): (i64,) = observer.fetch_one(ctx, query).await?;
        Ok(count > 0)
    }
    const TABLE_OPTIONS: &'static str = "";
    const SIGNED: &'static str = "INTEGER";
    const SNAPSHOT_ISOLATION: &'static str = "SELECT 1";
    const SERVER_PORT: &'static str = "SELECT 0";
    const SESSION_IDS_PER_SERVER: bool = false;

    /// tethered-sqlite's own sleep, which a stop or the deadline cuts short.
    const SLEEP: &'static str = "tethered_sleep";
    const SYSTEM_NAME: &'static str = "sqlite";
    const SET_SESSION_TIME_LIMIT: &'static str = "PRAGMA busy_timeout = 7000";
    const SESSION_ID: &'static str = "SELECT tethered_session()";
    async fn view(
        observer: &Pool<SqliteDriver>,
        ctx: &Ctx,
        marker: &str,
    ) -> tethered::Result<View> {
        let pattern = like_pattern(marker);
        let query = format!(
            "SELECT tethered_running({pattern}), tethered_running_sessions({pattern}), \
             tethered_describe({pattern})"
        );
        let (running, sessions, description): (i64, String, Option<String>) =
            observer.fetch_one(ctx, query).await?;
        let sessions = sessions
            .split(',')
            .filter(|id| !id.is_empty())
            .map(|id| id.trim().parse().expect("a session id"))
            .collect();
        Ok(View {
            running,
            sessions,
            description,
        })
    }

    fn placeholder(_: usize) -> String {
        "?".to_owned()
    }

    fn busy(marker: &str) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE tethered_tick('{marker}') AND x < 100000000000) SELECT count(*) FROM c"
        )
    }

    /// A millisecond's nap per row, ticking: the engine can stop it between rows, and the
    /// view sees it run.
    fn sleep(seconds: u32, marker: &str) -> String {
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE x < {} AND tethered_nap('{marker}')) SELECT count(*) FROM c",
            u64::from(seconds) * 1000
        )
    }

    /// SQLite cannot end another connection: this interrupts its statement.
    fn terminate(id: u64) -> String {
        format!("SELECT tethered_stop({id})")
    }

    const SERVER_LIMIT_MARGIN: Duration = tethered::sqlite::LIMIT_MARGIN;

    fn series(count: u64, marker: &str) -> String {
        // Ticking, so that the view sees it run.
        format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s \
             WHERE tethered_tick('{marker}') AND n < {count}) SELECT n FROM s"
        )
    }

    fn stop_statement(id: u64) -> String {
        format!("SELECT tethered_stop({id})")
    }
}

/// How soon a stopped statement must be gone from the server, or its caller answered, after
/// what ended it. Far below the statements' own length (10 s sleeps, minutes of busy work),
/// so a stop that was lost fails the test; far above any scheduling delay on a loaded
/// two-core machine, so a slow machine does not. Latency figures are the benchmark's.
pub const PROMPTLY: Duration = Duration::from_secs(2);

/// The stage's usual pool options: callers wait for each stop to settle, so every outcome a
/// test asserts is final (the default `stop_wait` returns `Stopping` when a loaded machine
/// is slow to confirm; tests of that default give their own options).
fn settled(max_connections: usize) -> PoolOptions {
    let defaults = PoolOptions::default();
    PoolOptions {
        max_connections,
        stop_wait: defaults.cancel_grace,
        ..defaults
    }
}

/// A name no other test, run, or earlier run uses: `<prefix>_<pid>_<nanos>_<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{n}", std::process::id())
}

/// Whose turn it is on this machine. Tests that measure latency or load the CPU run
/// alone: on a two-core machine the other tests' work would otherwise skew their clocks
/// (a PostgreSQL cancel measured at 5 ms alone took 65 ms beside the rest of the suite).
enum Turn {
    Shared {
        _held: RwLockReadGuard<'static, ()>,
    },
    Alone {
        _held: RwLockWriteGuard<'static, ()>,
    },
}

static TURNS: RwLock<()> = RwLock::const_new(());

/// One test's world on one backend: a namespace of its own on the server, a pool confined
/// to it, and a separate observer that reads the server's own view.
pub struct Stage<B: Backend> {
    /// The pool under test, confined to the namespace.
    pub pool: Pool<B::Driver>,
    observer: Pool<B::Driver>,
    namespace: String,
    /// The root context of the test.
    pub root: Ctx,
    _turn: Turn,
}

impl<B: Backend> Stage<B> {
    /// A new namespace `suite_...`, and a pool of `max_connections` in it, sharing the
    /// machine with other tests. A server that does not answer is a loud failure that says
    /// how to start one.
    pub async fn new(max_connections: usize) -> Stage<B> {
        Stage::with_turn(
            max_connections,
            Turn::Shared {
                _held: TURNS.read().await,
            },
        )
        .await
    }

    /// Like [`Stage::new`], but waits until no other test runs and keeps the machine to
    /// itself until dropped: for tests that measure latency or load the CPU.
    pub async fn alone(max_connections: usize) -> Stage<B> {
        Stage::with_turn(
            max_connections,
            Turn::Alone {
                _held: TURNS.write().await,
            },
        )
        .await
    }

    /// Like [`Stage::new`], but the pool under test connects to `pool_url` (through a
    /// proxy, say) while the observer stays on the test server directly.
    pub async fn through(pool_url: &str, max_connections: usize) -> Stage<B> {
        Stage::through_with(pool_url, settled(max_connections)).await
    }

    /// Like [`Stage::through`], with the pool's options as given.
    pub async fn through_with(pool_url: &str, options: PoolOptions) -> Stage<B> {
        let turn = Turn::Shared {
            _held: TURNS.read().await,
        };
        Stage::with_turn_at(pool_url, options, turn).await
    }

    async fn with_turn(max_connections: usize, turn: Turn) -> Stage<B> {
        Stage::with_turn_at(&B::url(), settled(max_connections), turn).await
    }

    async fn with_turn_at(pool_url: &str, options: PoolOptions, turn: Turn) -> Stage<B> {
        let url = B::url();
        let root = Ctx::background();
        let namespace = unique("suite");
        let setup = root.with_timeout(Duration::from_secs(10));
        let observer = B::pool_in(&url, "information_schema", PoolOptions::default())
            .unwrap_or_else(|error| unreachable_server::<B>(&url, error));
        observer
            .execute(&setup, B::create_namespace(&namespace))
            .await
            .unwrap_or_else(|error| unreachable_server::<B>(&url, error));
        let pool = B::pool_in(pool_url, &namespace, options)
            .unwrap_or_else(|error| unreachable_server::<B>(pool_url, error));
        Stage {
            pool,
            observer,
            namespace,
            root,
            _turn: turn,
        }
    }

    /// Runs `statement` (DDL, typically) in the namespace.
    pub async fn setup(&self, statement: impl tethered::IntoSql<B::Driver>) {
        let ctx = self.root.with_timeout(Duration::from_secs(10));
        self.pool
            .execute(&ctx, statement)
            .await
            .expect("setting up the test");
    }

    /// A connection of the pool, held by the test, and the id of its session on the server
    /// (to tell, after a stop, that the same session runs the next statement).
    pub async fn held_connection(&self) -> (PoolConnection<B::Driver>, u64) {
        let mut connection = self.pool.acquire(&self.root).await.expect("acquire");
        let (session,): (u64,) = connection
            .fetch_one(&self.root, B::SESSION_ID)
            .await
            .expect("session");
        (connection, session)
    }

    /// How many statements carrying `marker` the server is running, by its own view.
    pub async fn running(&self, marker: &str) -> i64 {
        self.try_running(marker).await.expect("the server's view")
    }

    /// [`Stage::running`], or why the server's view could not be read within 5 s.
    pub async fn try_running(&self, marker: &str) -> tethered::Result<i64> {
        let ctx = self.root.with_timeout(Duration::from_secs(5));
        Ok(B::view(&self.observer, &ctx, marker).await?.running)
    }

    /// What the server's view says of the statements carrying `marker` (session, state,
    /// age), for a failure's note; what went wrong if it cannot be read.
    pub async fn describe(&self, marker: &str) -> String {
        let ctx = self.root.with_timeout(Duration::from_secs(5));
        match B::view(&self.observer, &ctx, marker).await {
            Ok(View {
                description: Some(seen),
                ..
            }) => seen,
            Ok(_) => "nothing".to_owned(),
            Err(error) => format!("the view could not be read: {error}"),
        }
    }

    /// Waits until a statement carrying `marker` is seen running; panics after `within`.
    pub async fn wait_running(&self, marker: &str, within: Duration) {
        let start = tokio::time::Instant::now();
        while self.running(marker).await == 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` never showed up on {}",
                B::NAME
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How long until no statement carrying `marker` runs; panics after `within`.
    pub async fn time_until_gone(&self, marker: &str, within: Duration) -> Duration {
        let start = tokio::time::Instant::now();
        while self.running(marker).await > 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` still runs on {} after {within:?}",
                B::NAME
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }

    /// Stops, from the observer, every statement carrying `marker` that the server still
    /// runs, and says how many there were: a failed test cleans up what it found, so that no
    /// CPU-bound statement of it burns the shared machine for minutes.
    pub async fn sweep(&self, marker: &str) -> usize {
        let ctx = self.root.with_timeout(Duration::from_secs(10));
        // Cleaning up: a view that cannot be read leaves nothing to do.
        let sessions = B::view(&self.observer, &ctx, marker)
            .await
            .map(|view| view.sessions)
            .unwrap_or_default();
        for id in &sessions {
            // A statement that ended meanwhile has nothing to stop.
            let _ = self.observer.execute(&ctx, B::stop_statement(*id)).await;
        }
        sessions.len()
    }

    /// Runs `statement` through the observer, outside the pool under test.
    pub async fn as_observer(&self, statement: impl tethered::IntoSql<B::Driver>) {
        let ctx = self.root.with_timeout(Duration::from_secs(10));
        self.observer
            .execute(&ctx, statement)
            .await
            .expect("the observer's statement");
    }

    /// Another pool in the test's namespace, with `options`.
    pub fn pool_with(&self, options: PoolOptions) -> Pool<B::Driver> {
        B::pool_in(&B::url(), &self.namespace, options).expect("a pool in the namespace")
    }

    /// Another pool in the test's namespace, of `max_connections`, whose every session first
    /// runs `statement` (a session setting).
    pub fn pool_with_session(
        &self,
        max_connections: usize,
        statement: &'static str,
    ) -> Pool<B::Driver> {
        Pool::with_after_connect(
            self.driver(),
            settled(max_connections),
            move |ctx, session| {
                Box::pin(async move { session.execute(ctx, statement).await.map(drop) })
            },
        )
        .expect("a pool in the namespace")
    }

    /// The driver of the test's namespace, for a pool built by hand.
    pub fn driver(&self) -> B::Driver {
        B::driver_in(&B::url(), &self.namespace).expect("a driver for the namespace")
    }

    /// Whether the server has a session with id `session`, by its own view, or why the
    /// view could not be read within 5 s (MariaDB's PROCESSLIST can take longer under a
    /// storm of kills): callers that poll ask again.
    pub async fn session_exists(&self, session: u64) -> tethered::Result<bool> {
        let ctx = self.root.with_timeout(Duration::from_secs(5));
        B::session_exists(&self.observer, &ctx, session).await
    }

    /// Drops the namespace and everything in it. (A failed test leaves it behind; its name
    /// is unique, so no later run trips over it.)
    pub async fn finish(self) {
        self.pool.close();
        let ctx = self.root.with_timeout(Duration::from_secs(10));
        self.observer
            .execute(&ctx, B::drop_namespace(&self.namespace))
            .await
            .expect("dropping the test's namespace");
    }
}

/// What the server's own view says of the statements carrying a marker.
#[derive(Debug, Default)]
pub struct View {
    /// How many of them are running (not idle in a transaction, say).
    pub running: i64,
    /// The sessions running them.
    pub sessions: Vec<u64>,
    /// Each one's session, state and age, for a failure's note; `None` if there are none.
    pub description: Option<String>,
}

impl View {
    /// The view of statements seen as (session, running, description).
    fn of(seen: impl Iterator<Item = (u64, bool, String)>) -> View {
        let mut view = View::default();
        let mut lines = Vec::new();
        for (session, running, line) in seen {
            if running {
                view.running += 1;
                view.sessions.push(session);
            }
            lines.push(line);
        }
        view.description = (!lines.is_empty()).then(|| lines.join("; "));
        view
    }
}

/// The SQL pattern `%marker%`, written so that the text of the statement that holds it never
/// holds the marker whole (`concat('%', 'mar', 'ker', '%')`): a view does not see itself.
pub fn like_pattern(marker: &str) -> String {
    let plain = |byte: u8| byte.is_ascii_alphanumeric() || b"_-.: ".contains(&byte);
    assert!(
        marker.bytes().all(plain),
        "a marker is letters, digits and _-.: only: {marker:?}"
    );
    let (head, tail) = marker.split_at(marker.len() / 2);
    format!("concat('%', '{head}', '{tail}', '%')")
}

/// One row of MariaDB's `SHOW FULL PROCESSLIST`: id, user, host, database, command, time
/// (seconds), state, statement text.
type Process = (
    u64,
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<String>,
);

/// Every session on the MariaDB server, by `SHOW FULL PROCESSLIST`.
///
/// Not `information_schema.PROCESSLIST`: MariaDB 10.11.19 crashed (signal 11 in
/// `ha_maria::drop_table`, freeing the internal temporary table such a query fills), under
/// the suite's polls and again in a CI run, prepared and as text alike, taking every later
/// test of the run with it. `SHOW PROCESSLIST` sends its rows without a temporary table.
async fn processlist(observer: &Pool<MyDriver>, ctx: &Ctx) -> tethered::Result<Vec<Process>> {
    observer.fetch_all(ctx, "SHOW FULL PROCESSLIST").await
}

fn unreachable_server<B: Backend>(url: &str, error: tethered::Error) -> ! {
    panic!(
        "{} is not usable at {url} ({error}). Run `scripts/test`, which starts it, or point {} \
         at a running server.",
        B::NAME,
        B::URL_VARIABLE
    )
}
