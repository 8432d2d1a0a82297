#![doc = include_str!("../README.md")]

pub use tethered_core::{
    BoxError, Cause, Column, ColumnInfo, ColumnRef, Comparable, Ctx, DatabaseError,
    DatabaseErrorKind, Decodes, Driver, Error, Executed, Executor, Field, Filter, FromRow, IntoSql,
    Keyed, Model, Ordering, Pool, PoolConnection, PoolOptions, PoolStatus, Result, Row, RowOf,
    SCOPE_ENDED, Scope, Select, Sql, StatementOutcome, Transaction, sea_query,
};

mod derive_docs;
pub use derive_docs::{Model, context_first};

/// The PostgreSQL backend: [`postgres::connect`] opens a pool.
#[cfg(feature = "postgres")]
pub use tethered_postgres as postgres;

/// The MySQL/MariaDB backend: [`mysql::connect`] opens a pool.
#[cfg(feature = "mysql")]
pub use tethered_mysql as mysql;

#[cfg(feature = "axum")]
pub mod axum;

/// What most code needs in scope: the context, the errors, the models and the
/// [`Executor`] methods.
pub mod prelude {
    pub use crate::{
        Cause, Ctx, Error, Executor, Keyed, Model, Result, Scope, Sql, StatementOutcome,
        context_first,
    };
}

/// What generated code refers to, so users depend on `tethered` alone. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use tethered_core::{
        Column, ColumnInfo, ColumnRef, Decodes, Field, FromRow, Keyed, Model, Result, Row,
        field_value, sea_query::Value,
    };
}
