//! tethered in one minute. On SQLite by default: embedded, no server, no flags
//! (`cargo run --example quickstart`). `--backend postgres` (TETHERED_POSTGRES_URL, default
//! `postgres://postgres@127.0.0.1:5432/test`) and `--backend mysql` (TETHERED_MYSQL_URL,
//! default `mysql://root@127.0.0.1:3306/test`) run the same tour on a server, built with
//! `--features postgres` or `--features mysql`; `scripts/ensure-databases` starts them.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tethered::prelude::*;
use tethered::{Driver, FromRow, Pool, PoolOptions, RowOf, Transaction};

#[path = "common/cli.rs"]
mod cli;

const USAGE: &str = "usage: quickstart [--backend sqlite|postgres|mysql]";

/// What differs per backend: two statements, and how to see that the long one is gone.
trait Tour<D: Driver>: Sync {
    /// The database, for the messages.
    const NAME: &'static str;
    /// `21 * 2` with 21 bound.
    fn doubled(&self) -> Sql;
    /// A statement of 10 s or more, tagged `quickstart`.
    fn long(&self) -> &'static str;
    /// Where the statement is seen running, for the messages.
    fn view(&self) -> &'static str;
    /// How long until the long statement is seen no more.
    fn gone(&self, db: &Pool<D>, ctx: &Ctx) -> impl Future<Output = Result<Duration>> + Send;
}

/// Rows the long SQLite statement has produced: its progress, seen from outside the engine.
static TICKS: AtomicU64 = AtomicU64::new(0);

struct OnSqlite;

impl Tour<tethered::sqlite::Sqlite> for OnSqlite {
    const NAME: &'static str = "SQLite";

    fn doubled(&self) -> Sql {
        Sql::new("SELECT ? * 2").bind(21)
    }

    fn long(&self) -> &'static str {
        // A count to 10^11, calling `quickstart_tick()` per row: minutes of CPU.
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
         WHERE quickstart_tick() AND x < 100000000000) SELECT count(*) FROM c"
    }

    fn view(&self) -> &'static str {
        "the engine (its row counter stopped)"
    }

    async fn gone(&self, _: &Pool<tethered::sqlite::Sqlite>, _: &Ctx) -> Result<Duration> {
        let started = Instant::now();
        let mut seen = TICKS.load(Ordering::Relaxed);
        let mut moved = Instant::now();
        while moved.elapsed() < Duration::from_millis(20) {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let now = TICKS.load(Ordering::Relaxed);
            if now != seen {
                (seen, moved) = (now, Instant::now());
            }
        }
        Ok(moved.saturating_duration_since(started))
    }
}

#[cfg(feature = "postgres")]
struct OnPostgres;

#[cfg(feature = "postgres")]
impl Tour<tethered::postgres::Postgres> for OnPostgres {
    const NAME: &'static str = "PostgreSQL";

    fn doubled(&self) -> Sql {
        Sql::new("SELECT $1::int8 * 2").bind(21)
    }

    fn long(&self) -> &'static str {
        "SELECT pg_sleep(10) /* quickstart */"
    }

    fn view(&self) -> &'static str {
        "pg_stat_activity"
    }

    async fn gone(&self, db: &Pool<tethered::postgres::Postgres>, ctx: &Ctx) -> Result<Duration> {
        let sessions = "SELECT state, query FROM pg_stat_activity WHERE pid <> pg_backend_pid()";
        watch(
            db,
            ctx,
            sessions,
            |(state, query): &(Option<String>, Option<String>)| {
                state.as_deref() == Some("active")
                    && query
                        .as_deref()
                        .is_some_and(|query| query.ends_with("/* quickstart */"))
            },
        )
        .await
    }
}

#[cfg(feature = "mysql")]
struct OnMySql;

#[cfg(feature = "mysql")]
impl Tour<tethered::mysql::MySql> for OnMySql {
    const NAME: &'static str = "MySQL/MariaDB";

    fn doubled(&self) -> Sql {
        Sql::new("SELECT ? * 2").bind(21)
    }

    fn long(&self) -> &'static str {
        "SELECT SLEEP(10) /* quickstart */"
    }

    fn view(&self) -> &'static str {
        "the PROCESSLIST"
    }

    async fn gone(&self, db: &Pool<tethered::mysql::MySql>, ctx: &Ctx) -> Result<Duration> {
        // `SHOW PROCESSLIST` rather than `information_schema.PROCESSLIST`, whose internal
        // temporary table MariaDB 10.11.19 has crashed freeing under polls like this one.
        watch(db, ctx, "SHOW FULL PROCESSLIST", |session: &Session| {
            session.command == "Query"
                && session
                    .info
                    .as_deref()
                    .is_some_and(|info| info.ends_with("/* quickstart */"))
        })
        .await
    }
}

/// A row of MariaDB's `SHOW FULL PROCESSLIST`, by column name.
#[cfg(feature = "mysql")]
#[derive(tethered::FromRow)]
struct Session {
    #[tethered(rename = "Command")]
    command: String,
    #[tethered(rename = "Info")]
    info: Option<String>,
}

/// How long until none of the sessions the server lists (`sessions`, one `R` each) is
/// `running` the statement tagged `quickstart`.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn watch<D: Driver, R: FromRow<RowOf<D>> + Send>(
    db: &Pool<D>,
    ctx: &Ctx,
    sessions: &'static str,
    running: fn(&R) -> bool,
) -> Result<Duration> {
    let started = Instant::now();
    let watching = ctx.with_timeout(Duration::from_secs(5));
    while db
        .fetch_all::<R>(&watching, sessions)
        .await?
        .iter()
        .any(running)
    {}
    Ok(started.elapsed())
}

/// The tour itself, the same on every backend.
async fn tour<D: Driver, T: Tour<D>>(on: T, db: Pool<D>, root: &Ctx) -> Result<()> {
    println!("on {}:", T::NAME);
    // 1. A typed query with a bound value.
    let (answer,): (i64,) = db.fetch_one(root, on.doubled()).await?;
    println!("1. SELECT 21 * 2 -> {answer}");

    // 2. A request with a 100 ms budget runs a statement of many seconds: it stops inside
    //    the database, and the database's own view says so.
    let request = root.with_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let slow = db.execute(&request, on.long()).await;
    let error = slow.expect_err("a long statement cannot finish in 100 ms");
    println!("2. after {:?}: {error}", started.elapsed());
    println!(
        "   gone from {} {:?} later",
        on.view(),
        on.gone(&db, root).await?
    );

    // 3. Dropping the future (here by tokio's timeout, no context involved) stops it too.
    let dropped =
        tokio::time::timeout(Duration::from_millis(100), db.execute(root, on.long())).await;
    assert!(dropped.is_err(), "a long statement cannot finish in 100 ms");
    println!("3. tokio::time::timeout dropped the statement's future");
    println!(
        "   gone from {} {:?} later",
        on.view(),
        on.gone(&db, root).await?
    );

    // 4. A transaction whose context ends before the commit is rolled back.
    let request = root.child();
    let mut tx: Transaction<D> = db.begin(&request).await?;
    tx.execute(&request, "CREATE TEMP TABLE quickstart (n int)")
        .await?;
    request.cancel("the client went away");
    let committed = tx.commit(root).await;
    println!(
        "4. commit after the request ended: {}",
        committed.expect_err("rolled back")
    );
    Ok(())
}

fn parse(mut args: std::vec::IntoIter<String>) -> std::result::Result<String, String> {
    let mut backend = "sqlite".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--backend" => backend = args.next().ok_or("--backend needs a value")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    match backend.as_str() {
        "sqlite" | "postgres" | "mysql" => Ok(backend),
        other => Err(format!("unknown backend {other:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let backend = match cli::options("quickstart", USAGE, parse) {
        Ok(backend) => backend,
        Err(code) => return code,
    };
    let root = Ctx::background();
    let connecting = root.with_timeout(Duration::from_secs(5));
    let toured = match backend.as_str() {
        "postgres" => postgres(&root, &connecting).await,
        "mysql" => mysql(&root, &connecting).await,
        _ => {
            // An in-memory database shared by the pool's connections, with the function
            // the long statement calls per row.
            let driver = tethered::sqlite::Sqlite::memory().map(|driver| {
                driver.on_open(|conn| {
                    use tethered::sqlite::rusqlite::functions::FunctionFlags;
                    conn.create_scalar_function(
                        "quickstart_tick",
                        0,
                        FunctionFlags::SQLITE_UTF8,
                        |_| {
                            TICKS.fetch_add(1, Ordering::Relaxed);
                            Ok(1_i64)
                        },
                    )
                })
            });
            match driver.and_then(|driver| Pool::new(driver, PoolOptions::default())) {
                Ok(db) => tour(OnSqlite, db, &root).await,
                Err(error) => Err(error),
            }
        }
    };
    match toured {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "postgres")]
async fn postgres(root: &Ctx, connecting: &Ctx) -> Result<()> {
    let url = std::env::var("TETHERED_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let db = tethered::postgres::connect(connecting, &url, PoolOptions::default())
        .await
        .inspect_err(|error| {
            eprintln!(
                "cannot reach PostgreSQL at {url}: {error} (scripts/ensure-databases starts one)"
            );
        })?;
    tour(OnPostgres, db, root).await
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &Ctx, _: &Ctx) -> Result<()> {
    Err(Error::InvalidInput(
        "built without PostgreSQL: run with `--features postgres`".into(),
    ))
}

#[cfg(feature = "mysql")]
async fn mysql(root: &Ctx, connecting: &Ctx) -> Result<()> {
    let url = std::env::var("TETHERED_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
    let db = tethered::mysql::connect(connecting, &url, PoolOptions::default())
        .await
        .inspect_err(|error| {
            eprintln!(
                "cannot reach MySQL/MariaDB at {url}: {error} (scripts/ensure-databases starts one)"
            );
        })?;
    tour(OnMySql, db, root).await
}

#[cfg(not(feature = "mysql"))]
async fn mysql(_: &Ctx, _: &Ctx) -> Result<()> {
    Err(Error::InvalidInput(
        "built without MySQL/MariaDB: run with `--features mysql`".into(),
    ))
}
