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
mod observe;
mod pool;
mod protocol;
mod request_id;
mod retry;
mod row;
pub mod server_deadline;
mod sql;
mod stream;
mod task;
mod transaction;
mod types;

pub use cause::Cause;
pub use connection::PoolConnection;
pub use ctx::{Ctx, LiveScopes, SCOPE_ENDED, Scope};
pub use driver::{BoxFuture, Canceller, Connection, Driver, Executed};
pub use error::{BoxError, DatabaseError, DatabaseErrorKind, Error, Result, StatementOutcome};
pub use executor::{Executor, RowOf};
pub use model::{
    Column, ColumnInfo, Comparable, Field, Filter, Keyed, Model, Ordering, Select, field_from_row,
    field_value,
};
pub use observe::{Endpoint, InFlightStatement, STATEMENT_TARGET, StatementState};
pub use pool::{Pool, PoolOptions, PoolStatus};
pub use request_id::{MAX_REQUEST_ID_LEN, RequestId};
pub use retry::MAX_TRANSACTION_ATTEMPTS;
pub use row::{
    ColumnRef, Decodes, DecodesChrono, DecodesDecimal, DecodesJson, DecodesTime, DecodesUuid,
    FromRow, Row, short_type_name,
};
pub use sea_query;
pub use sql::{IntoSql, Sql};
pub use stream::{Fetch, RowStream};
pub use task::Task;
pub use transaction::Transaction;
pub use types::Enum;
#[cfg(feature = "json")]
pub use types::Json;
#[cfg(feature = "decimal")]
pub use types::decimal_from_text;
#[cfg(any(feature = "chrono", feature = "time"))]
pub use types::whole_microseconds;

// The crates of the column types, for the list macros' paths and the backends.
#[cfg(feature = "chrono")]
pub use chrono;
#[cfg(feature = "decimal")]
pub use rust_decimal;
#[cfg(feature = "json")]
pub use serde_json;
#[cfg(feature = "time")]
pub use time;
#[cfg(feature = "uuid")]
pub use uuid;
