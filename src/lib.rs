//! Queries tethered to a context: every call that reaches a database takes a [`&Ctx`](Ctx)
//! first, and when that context ends — cancelled, its deadline passed, or the future
//! dropped — the statement stops **on the database server**, the connection is reused only
//! once the server confirms the stop, and the caller gets an [`Error`] that says what
//! happened.
//!
//! - [`Ctx`] is the context: a tree of cancellation with deadlines and typed values.
//! - `tethered::postgres` (feature `postgres`) and `tethered::mysql` (feature `mysql`) are
//!   the backends; their `connect` opens a [`Pool`], which is an [`Executor`].
//! - `#[derive(`[`Model`]`)]` maps a struct to a table; [`context_first`] makes the compiler
//!   refuse your own async functions whose first parameter is not `&Ctx`.
//! - `tethered::axum` (feature `axum`) gives every HTTP request a context that ends when
//!   the client hangs up or the request's deadline passes.
//! - [`prelude`] is what most code imports.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn run() -> tethered::Result<()> {
//! use std::time::Duration;
//! use tethered::prelude::*;
//! use tethered::PoolOptions;
//!
//! let root = Ctx::background();
//! let db = tethered::postgres::connect(&root, "postgres://postgres@127.0.0.1/test", PoolOptions::default()).await?;
//! let request = root.with_timeout(Duration::from_millis(100));
//! let error = db.execute(&request, "SELECT pg_sleep(10)").await.unwrap_err();
//! assert!(error.is_deadline_exceeded()); // and the sleep is gone from the server
//! # Ok(())
//! # }
//! ```
//!
//! The README (in the repository) shows how to add the crate, its features, pool options,
//! TLS and what errors look like.

pub use tethered_core::{
    BoxError, BoxFuture, Cause, Column, ColumnInfo, ColumnRef, Comparable, Ctx, DatabaseError,
    DatabaseErrorKind, Decodes, Driver, Error, Executed, Executor, Field, Filter, FromRow, IntoSql,
    Keyed, Model, Ordering, Pool, PoolConnection, PoolOptions, PoolStatus, Result, Row, RowOf,
    SCOPE_ENDED, Scope, Select, Sql, StatementOutcome, Transaction, sea_query,
};

mod derive_docs;
pub use derive_docs::{Model, context_first};

// Inlined, so `cargo doc --no-deps` shows the backends' items and docs here rather than a
// bare link to crates it did not document. Their crate docs are the modules' docs.
#[cfg(feature = "postgres")]
#[doc(inline)]
pub use tethered_postgres as postgres;

#[cfg(feature = "mysql")]
#[doc(inline)]
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
