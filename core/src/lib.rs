//! The core of tethered: [`Ctx`], the [`Error`] model, the driver traits, the pool and the
//! cancellation protocol.
//!
//! Not for direct use: depend on the `tethered` crate, which re-exports what applications
//! need. Backend crates implement [`Driver`], [`Connection`] and [`Canceller`].

mod cause;
mod connection;
mod ctx;
mod driver;
mod error;
mod executor;
mod model;
mod pool;
mod protocol;
mod row;
pub mod server_deadline;
mod sql;
mod transaction;

pub use cause::Cause;
pub use connection::PoolConnection;
pub use ctx::{Ctx, SCOPE_ENDED, Scope};
pub use driver::{BoxFuture, Canceller, Connection, Driver, Executed};
pub use error::{BoxError, DatabaseError, DatabaseErrorKind, Error, Result, StatementOutcome};
pub use executor::{Executor, RowOf};
pub use model::{
    Column, ColumnInfo, Comparable, Field, Filter, Keyed, Model, Ordering, Select, field_value,
};
pub use pool::{Pool, PoolOptions, PoolStatus};
pub use row::{ColumnRef, Decodes, FromRow, Row};
pub use sea_query;
pub use sql::{IntoSql, Sql};
pub use transaction::Transaction;
