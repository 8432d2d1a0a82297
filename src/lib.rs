#![doc = include_str!("../README.md")]

pub use tethered_core::{
    BoxError, Cause, Column, Ctx, DatabaseError, DatabaseErrorKind, Decode, Error, Executed,
    Executor, FromRow, IntoSql, Pool, PoolConnection, PoolOptions, PoolStatus, Result, Row, RowOf,
    SCOPE_ENDED, Scope, Sql, StatementOutcome, Transaction, sea_query,
};

/// The PostgreSQL backend: [`postgres::connect`] opens a pool.
#[cfg(feature = "postgres")]
pub use tethered_postgres as postgres;

/// The MySQL/MariaDB backend.
#[cfg(feature = "mysql")]
pub use tethered_mysql as mysql;

/// What most code needs in scope: the context, the errors, and the [`Executor`] methods.
pub mod prelude {
    pub use crate::{Cause, Ctx, Error, Executor, Result, Scope, Sql, StatementOutcome};
}
