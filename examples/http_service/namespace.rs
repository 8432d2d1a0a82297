//! A namespace of the service's own on the shared server (a PostgreSQL schema, a MariaDB
//! database), and pools whose statements run in it.

use std::hash::{BuildHasher, RandomState};

use tethered::mysql::{MySql, mysql_async};
use tethered::postgres::{Postgres, tokio_postgres};
use tethered::{Ctx, Error, Pool, PoolOptions, Result};

use super::backend::{Backend, Db, on_pool};

/// `<prefix>_<16 hex digits>`, random: a name no other service, test or run uses.
pub fn unique(prefix: &str) -> String {
    // Each `RandomState` is keyed afresh (randomly per thread, then counting up).
    let random = RandomState::new().hash_one(std::process::id());
    format!("{prefix}_{random:016x}")
}

impl Backend {
    /// A statement creating `namespace`.
    pub fn create_namespace(self, namespace: &str) -> String {
        match self {
            Backend::Postgres => format!("CREATE SCHEMA {namespace}"),
            Backend::Mysql => format!("CREATE DATABASE {namespace}"),
        }
    }

    /// A statement dropping `namespace` and everything in it.
    pub fn drop_namespace(self, namespace: &str) -> String {
        match self {
            Backend::Postgres => format!("DROP SCHEMA {namespace} CASCADE"),
            Backend::Mysql => format!("DROP DATABASE {namespace}"),
        }
    }
}

impl Db {
    /// Like [`Db::connect`], but every statement runs in `namespace`, which must exist:
    /// unqualified tables are its tables.
    ///
    /// Cancel safe: dropped, no connection is left open.
    pub async fn connect_in(
        ctx: &Ctx,
        backend: Backend,
        namespace: &str,
        options: PoolOptions,
    ) -> Result<Db> {
        let url = backend.url();
        let malformed =
            |error: &dyn std::fmt::Display| Error::InvalidInput(format!("{url}: {error}"));
        let db = match backend {
            Backend::Postgres => {
                let mut config: tokio_postgres::Config =
                    url.parse().map_err(|error| malformed(&error))?;
                config.options(format!("-c search_path={namespace}"));
                let driver = Postgres::new(config, tokio_postgres::NoTls);
                Db::Postgres(Pool::new(driver, options)?)
            }
            Backend::Mysql => {
                let opts = mysql_async::Opts::from_url(&url).map_err(|error| malformed(&error))?;
                let opts = mysql_async::OptsBuilder::from_opts(opts).db_name(Some(namespace));
                Db::Mysql(Pool::new(MySql::new(opts.into()), options)?)
            }
        };
        // Checks that the server answers, as `connect` does.
        on_pool!(&db, pool => drop(pool.acquire(ctx).await?));
        Ok(db)
    }
}
