//! Which database an example runs on, and a pool on it. Shared by the examples (and, through
//! `http_service/app.rs`, the HTTP end-to-end tests).

use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, PoolOptions, Result};

/// A backend, chosen by name at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Mysql,
}

impl Backend {
    /// The name it is chosen by (`postgres` or `mysql`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    /// The server's URL: `TETHERED_POSTGRES_URL` / `TETHERED_MYSQL_URL`, or the default.
    pub fn url(self) -> String {
        let (variable, default) = match self {
            Backend::Postgres => (
                "TETHERED_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Backend::Mysql => ("TETHERED_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_owned())
    }
}

/// The backend called `name` (`postgres` or `mysql`); any other name is an error that
/// says which are known.
impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(name: &str) -> Result<Backend, String> {
        match name {
            "postgres" => Ok(Backend::Postgres),
            "mysql" => Ok(Backend::Mysql),
            _ => Err(format!("unknown backend {name:?}: use postgres or mysql")),
        }
    }
}

/// A pool on the backend chosen at start-up. Its operations are generic over the backend,
/// so code runs on either through [`on_pool!`].
pub enum Db {
    Postgres(PgPool),
    Mysql(MyPool),
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
        })
    }
}

/// Runs `$body` with `$pool` bound to the pool of `$db` (a `&Db`, with `Db` in scope),
/// whichever backend it is on: one body, compiled once per backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Postgres($pool) => $body,
            Db::Mysql($pool) => $body,
        }
    };
}
pub(crate) use on_pool;
