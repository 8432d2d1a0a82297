//! A namespace of the service's own: a PostgreSQL schema or a MariaDB database on the shared
//! server, or, on SQLite, a directory of its own in the temp directory holding the database
//! file; and pools whose statements run in it.

use std::hash::{BuildHasher, RandomState};
use std::path::{Path, PathBuf};

use tethered::mysql::{MySql, mysql_async};
use tethered::postgres::{Postgres, tokio_postgres};
use tethered::sqlite::Sqlite;
use tethered::sqlite::rusqlite::OpenFlags;
use tethered::{Ctx, Error, Executor, Pool, PoolOptions, Result};

use super::backend::{Backend, Db, on_pool};

/// `<prefix>_<16 hex digits>`, random: a name no other service, test or run uses.
pub fn unique(prefix: &str) -> String {
    // Each `RandomState` is keyed afresh (randomly per thread, then counting up).
    let random = RandomState::new().hash_one(std::process::id());
    format!("{prefix}_{random:016x}")
}

/// Where an SQLite namespace lives: a directory of its own in the temp directory.
fn sqlite_dir(namespace: &str) -> PathBuf {
    std::env::temp_dir().join(namespace)
}

fn file_error(path: &Path, error: std::io::Error) -> Error {
    Error::InvalidInput(format!("{}: {error}", path.display()))
}

impl Db {
    /// Creates `namespace` on `backend` and opens a pool of `options` in it, checked within
    /// `ctx`: unqualified tables are the namespace's tables. On an error the namespace is
    /// removed again (best effort: the error reported is the first one).
    ///
    /// Cancel safe, but a namespace created by a dropped call stays behind.
    pub async fn create_in(
        ctx: &Ctx,
        backend: Backend,
        namespace: &str,
        options: PoolOptions,
    ) -> Result<Db> {
        let create = match backend {
            Backend::Postgres => format!("CREATE SCHEMA {namespace}"),
            Backend::Mysql => format!("CREATE DATABASE {namespace}"),
            Backend::Sqlite => {
                let dir = sqlite_dir(namespace);
                std::fs::create_dir(&dir).map_err(|error| file_error(&dir, error))?;
                let db = Db::connect_in(ctx, backend, namespace, options).await;
                if db.is_err() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                return db;
            }
        };
        let one = PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        };
        let admin = Db::connect(ctx, backend, one).await?;
        on_pool!(&admin, pool => pool.execute(ctx, create).await)?;
        match Db::connect_in(ctx, backend, namespace, options).await {
            Ok(db) => Ok(db),
            Err(error) => {
                let _ = admin.drop_namespace(ctx, namespace).await;
                Err(error)
            }
        }
    }

    /// Drops `namespace` and everything in it (on SQLite: closes the pool and removes the
    /// namespace's directory; statements still being stopped keep their open files until
    /// they end).
    pub async fn drop_namespace(&self, ctx: &Ctx, namespace: &str) -> Result<()> {
        let drop_namespace = match self {
            Db::Postgres(_) => format!("DROP SCHEMA {namespace} CASCADE"),
            Db::Mysql(_) => format!("DROP DATABASE {namespace}"),
            Db::Sqlite(pool) => {
                pool.close();
                let dir = sqlite_dir(namespace);
                return std::fs::remove_dir_all(&dir).map_err(|error| file_error(&dir, error));
            }
        };
        on_pool!(self, pool => pool.execute(ctx, drop_namespace).await)?;
        Ok(())
    }

    /// Like [`Db::connect`], but every statement runs in `namespace`, which must exist.
    ///
    /// Cancel safe: dropped, no connection is left open.
    async fn connect_in(
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
            Backend::Sqlite => {
                let file = sqlite_dir(namespace).join("http_service.db");
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
                // Checks that the file opens, as the servers' arm below checks they answer.
                return Db::sqlite(ctx, Sqlite::file(file, flags), options).await;
            }
        };
        // Checks that the server answers, as `connect` does.
        on_pool!(&db, pool => drop(pool.acquire(ctx).await?));
        Ok(db)
    }
}
