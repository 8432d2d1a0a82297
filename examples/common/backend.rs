//! Which database an example runs on, and a pool on it. Shared by the examples (and, through
//! `http_service/app.rs`, the HTTP end-to-end tests).

use std::time::Duration;

use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::sqlite::{Sqlite, SqlitePool};
use tethered::{Ctx, Error, Executor, Pool, PoolOptions, Result, Sql};

// SQLite has no activity view: its pools register one (a counter per statement marker).
#[path = "sqlite_view.rs"]
mod sqlite_view;

/// A backend, chosen by name at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Mysql,
    /// Embedded: no server to start or reach.
    Sqlite,
}

impl Backend {
    /// The name it is chosen by (`postgres`, `mysql` or `sqlite`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
            Backend::Sqlite => "sqlite",
        }
    }

    /// The server's URL: `TETHERED_POSTGRES_URL` / `TETHERED_MYSQL_URL`, or the default.
    /// SQLite's is `sqlite::memory:`, an in-memory database of the pool's own (a namespace
    /// is a file in the temp directory: see `namespace.rs`).
    pub fn url(self) -> String {
        let (variable, default) = match self {
            Backend::Postgres => (
                "TETHERED_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Backend::Mysql => ("TETHERED_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
            Backend::Sqlite => return "sqlite::memory:".to_owned(),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_owned())
    }

    /// What to say beside an error reaching the database: how to start a server, or
    /// nothing for SQLite, which has none.
    pub fn hint(self) -> &'static str {
        match self {
            Backend::Postgres | Backend::Mysql => " (scripts/ensure-databases starts it)",
            Backend::Sqlite => "",
        }
    }
}

/// The backend called `name` (`postgres`, `mysql` or `sqlite`); any other name is an error
/// that says which are known.
impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(name: &str) -> Result<Backend, String> {
        match name {
            "postgres" => Ok(Backend::Postgres),
            "mysql" => Ok(Backend::Mysql),
            "sqlite" => Ok(Backend::Sqlite),
            _ => Err(format!(
                "unknown backend {name:?}: use sqlite, postgres or mysql"
            )),
        }
    }
}

/// A pool on the backend chosen at start-up. Its operations are generic over the backend,
/// so code runs on any through [`on_pool!`].
pub enum Db {
    Postgres(PgPool),
    Mysql(MyPool),
    Sqlite(SqlitePool),
}

impl Db {
    /// Opens a pool on `backend` and checks, within `ctx`, that the server answers.
    ///
    /// Cancel safe: dropped, no connection is left open.
    pub async fn connect(ctx: &Ctx, backend: Backend, options: PoolOptions) -> Result<Db> {
        let url = backend.url();
        Ok(match backend {
            Backend::Postgres => {
                Db::Postgres(tethered::postgres::connect(ctx, &url, options).await?)
            }
            Backend::Mysql => Db::Mysql(tethered::mysql::connect(ctx, &url, options).await?),
            Backend::Sqlite => Db::sqlite(ctx, Sqlite::from_url(&url)?, options).await?,
        })
    }

    /// A pool on `driver` whose connections register SQLite's activity view, checked under
    /// `ctx`.
    ///
    /// Cancel safe: dropped, the connection being opened is closed on its thread.
    pub async fn sqlite(ctx: &Ctx, driver: Sqlite, options: PoolOptions) -> Result<Db> {
        let pool = Pool::new(driver.on_open(sqlite_view::install), options)?;
        drop(pool.acquire(ctx).await?);
        Ok(Db::Sqlite(pool))
    }

    /// Sleeps `secs` seconds on the database, the statement tagged `label` (letters, digits,
    /// spaces and `-_.:` only) where the server's view finds it: a stand-in for a slow
    /// query.
    ///
    /// Cancel safe: dropped, the sleep is stopped on the database in the background.
    pub async fn sleep(&self, ctx: &Ctx, secs: f64, label: &str) -> Result<()> {
        assert!(
            label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b" _-.:".contains(&byte)),
            "a label is letters, digits, spaces and _-.: only: {label:?}"
        );
        match self {
            Db::Postgres(pool) => {
                let sleep = Sql::new(format!("SELECT pg_sleep($1) /* {label} */")).bind(secs);
                pool.execute(ctx, sleep).await?;
            }
            Db::Mysql(pool) => {
                let sleep = Sql::new(format!("SELECT SLEEP(?) /* {label} */")).bind(secs);
                pool.execute(ctx, sleep).await?;
            }
            Db::Sqlite(pool) => {
                // No sleep of its own and no view of statements: a millisecond's nap per
                // row, each ticking the view's counter for `label` (see `sqlite_view.rs`);
                // the engine can stop the statement between any two naps.
                let naps = Duration::try_from_secs_f64(secs)
                    .map_err(|error| Error::InvalidInput(format!("{secs} s: {error}")))?
                    .as_millis();
                let sleep = Sql::new(
                    "WITH RECURSIVE naps(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM naps \
                     WHERE n < ? AND tethered_nap(?)) SELECT count(*) FROM naps",
                )
                .bind(i64::try_from(naps).unwrap_or(i64::MAX))
                .bind(label.to_owned());
                pool.execute(ctx, sleep).await?;
            }
        }
        Ok(())
    }
}

/// Runs `$body` with `$pool` bound to the pool of `$db` (a `&Db`, with `Db` in scope),
/// whichever backend it is on: one body, compiled once per backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Postgres($pool) => $body,
            Db::Mysql($pool) => $body,
            Db::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;
