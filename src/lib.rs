#![doc = include_str!("../README.md")]

pub use tethered_core::{
    BoxError, Cause, Ctx, DatabaseError, DatabaseErrorKind, Error, Executed, Pool, PoolConnection,
    PoolOptions, PoolStatus, Result, SCOPE_ENDED, Scope, StatementOutcome,
};

/// The PostgreSQL backend.
#[cfg(feature = "postgres")]
pub use tethered_postgres as postgres;

/// The MySQL/MariaDB backend.
#[cfg(feature = "mysql")]
pub use tethered_mysql as mysql;
