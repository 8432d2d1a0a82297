//! Queries tethered to a context: every call that reaches a database takes a [`&Ctx`](Ctx)
//! first, and when that context ends — cancelled, its deadline passed, or the future
//! dropped — the statement stops **on the database server**, the connection is reused only
//! once the server confirms the stop, and the caller gets an [`Error`] that says what
//! happened.
//!
//! - [`Ctx`] is the context: a tree of cancellation with deadlines and typed values.
//! - `tethered::postgres` (feature `postgres`), `tethered::mysql` (feature `mysql`) and
//!   `tethered::sqlite` (feature `sqlite`, on by default: bundled, no server needed) are
//!   the backends; their `connect` opens a [`Pool`], which is an [`Executor`].
//! - `#[derive(`[`Model`]`)]` maps a struct to a table, `#[derive(`[`FromRow`]`)]` reads a
//!   report row by column name; [`context_first`] makes the compiler refuse your own async
//!   functions whose first parameter is not `&Ctx`.
//! - `tethered::axum` (feature `axum`) gives every HTTP request a context that ends when
//!   the client hangs up or the request's deadline passes.
//! - [`Executor::fetch`] and [`Select::stream`] yield rows as the server sends them, in
//!   bounded memory, the context obeyed between any two rows; dropping the stream stops the
//!   statement on the server.
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
    DatabaseErrorKind, Decodes, DecodesChrono, DecodesDecimal, DecodesJson, DecodesTime,
    DecodesUuid, Driver, Endpoint, Enum, Error, Executed, Executor, Fetch, Field, Filter, FromRow,
    InFlightStatement, IntoSql, Keyed, LiveScopes, MAX_REQUEST_ID_LEN, MAX_TRANSACTION_ATTEMPTS,
    Model, Ordering, Pool, PoolConnection, PoolOptions, PoolStatus, RequestId, Result, Row, RowOf,
    RowStream, SCOPE_ENDED, STATEMENT_TARGET, Scope, Select, Sql, StatementOutcome, StatementState,
    Task, Transaction, sea_query,
};

#[cfg(feature = "json")]
pub use tethered_core::Json;
// The crates of the column types, so an application names the same versions tethered uses.
#[cfg(feature = "chrono")]
pub use tethered_core::chrono;
#[cfg(feature = "decimal")]
pub use tethered_core::rust_decimal;
#[cfg(feature = "json")]
pub use tethered_core::serde_json;
#[cfg(feature = "time")]
pub use tethered_core::time;
#[cfg(feature = "uuid")]
pub use tethered_core::uuid;

mod derive_docs;
pub use derive_docs::{Enum, FromRow, Model, context_first};

// Inlined, so `cargo doc --no-deps` shows the backends' items and docs here rather than a
// bare link to crates it did not document. Their crate docs are the modules' docs.
#[cfg(feature = "postgres")]
#[doc(inline)]
pub use tethered_postgres as postgres;

#[cfg(feature = "mysql")]
#[doc(inline)]
pub use tethered_mysql as mysql;

#[cfg(feature = "sqlite")]
#[doc(inline)]
pub use tethered_sqlite as sqlite;

#[cfg(feature = "axum")]
pub mod axum;

#[cfg(feature = "grpc")]
pub mod grpc;

/// What most code needs in scope: the context, the errors, the models and the
/// [`Executor`] methods.
pub mod prelude {
    pub use crate::{
        Cause, Ctx, Error, Executor, FromRow, Keyed, Model, Result, Scope, Sql, StatementOutcome,
        context_first,
    };
}

/// What generated code refers to, so users depend on `tethered` alone. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use tethered_core::{
        Column, ColumnInfo, ColumnRef, Decodes, Enum, Field, FromRow, Keyed, Model, Result, Row,
        field_from_row, field_value, sea_query::Value,
    };
}
