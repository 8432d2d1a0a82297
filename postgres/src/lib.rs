//! The PostgreSQL backend of tethered, on tokio-postgres: `tethered::postgres` with the
//! `postgres` feature (the `tethered-postgres` crate is not for direct use).
//!
//! [`connect`] opens a [`PgPool`] from a URL (`postgres://user[:password]@host[:port]/db`)
//! and checks, under the caller's context, that a connection can be made. For TLS, or any
//! setting a URL cannot carry, build a [`tokio_postgres::Config`] and a connector and pass
//! both to [`Postgres::new`], then [`Pool::new`](tethered_core::Pool::new):
//! `Pool::new(Postgres::new(config, tls), PoolOptions::default())`. Any connector that
//! meets [`PgTls`] works — [`tokio_postgres::NoTls`], or those of postgres-openssl,
//! postgres-native-tls and tokio-postgres-rustls — and the same connector carries the
//! cancel requests, so a stop travels the way the statement did.
//!
//! - [`Postgres`] is the driver: a parsed configuration and a TLS connector.
//! - [`PgConnection`] keeps a per-connection cache of prepared statements and sets the
//!   server's own `statement_timeout` from the context's deadline, pipelined ahead of the
//!   statement (no extra round trip) and only when the current setting does not fit.
//! - [`PgCanceller`] sends PostgreSQL's CancelRequest with the connection's own TLS
//!   connector, and completes only once the server has acted on it.
//! - Values are bound by the parameter types the server inferred: integers are widened
//!   where lossless and refused, never truncated, where not.
//! - [`CopyIn`] stores models in bulk with `COPY ... FROM STDIN (FORMAT binary)`: one
//!   statement, all rows or none, stopped on the server like any statement when its context
//!   ends (given up in-band, so a stopped copy stores nothing).
//!
//! # When a statement is sent again
//!
//! tokio-postgres reads every connection all the time, so a session the server ends (a
//! terminate, `idle_session_timeout`, a restart) is seen closed as soon as its message or
//! end of stream arrives, and the pool never hands it out. A statement given a connection
//! already closed is not sent ([`Error::unsent`](tethered_core::Error::unsent)), and the
//! pool sends it on another. A statement that was written is never sent again: tokio-postgres
//! does not say whether a request it lost had reached the server.
//!
//! A cached prepared statement that the schema invalidated (0A000 "cached plan must not
//! change result type", a `SELECT *` after `ALTER TABLE ... ADD COLUMN`) is refused by the
//! server before it runs; it is dropped from the cache, prepared again and sent once more.
//! Inside a transaction the refusal has aborted the transaction, and the caller gets it.
//!
//! # Column types
//!
//! Each Rust type, with its feature where it needs one (`tethered` features `chrono`, `time`,
//! `uuid`, `json`, `decimal`):
//!
//! | Rust type | binds to (the parameter's type the server infers or you cast to) | decodes from |
//! |---|---|---|
//! | `i8`..`i64`, `u8`..`u64` | `smallint`, `integer`, `bigint`, `"char"`, `oid` when the value fits; `real`/`double precision` when exact | any integer column when the value fits; `numeric` holding a whole number (`SUM(bigint)`) |
//! | `bool`, `f32`, `f64` | `boolean`; `real`, `double precision` (an `f64` into `real` only when exact) | their own types (`f64` from `real` too) |
//! | `String`, `&str` | text types, native enum types, `json`, `jsonb` | text types, native enum types (the label), `json`, `jsonb`, `numeric` (its exact digits) |
//! | `Vec<u8>` | `bytea` | `bytea` |
//! | `DateTime<Utc>` (`chrono`) | `timestamptz` | `timestamptz` |
//! | `DateTime<FixedOffset>` (`chrono`) | `timestamptz` (the instant; the offset is not stored) | `timestamptz` (in UTC) |
//! | `NaiveDateTime` (`chrono`) | `timestamp` | `timestamp` |
//! | `NaiveDate` / `NaiveTime` (`chrono`) | `date` / `time` | `date` / `time` |
//! | `OffsetDateTime` / `PrimitiveDateTime` / `Date` / `Time` (`time`) | `timestamptz` / `timestamp` / `date` / `time` | the same |
//! | `Uuid` (`uuid`) | `uuid` | `uuid` |
//! | `serde_json::Value`, `Json<T>` (`json`) | `json`, `jsonb` | `json`, `jsonb` |
//! | `Decimal` (`decimal`) | `numeric` | `numeric`, when every digit fits (28 after the point, 96 bits) |
//! | `#[derive(Enum)]`, text | text types, native enum types | text types, native enum types |
//! | `#[derive(Enum)]`, `#[repr(i32)]`... | integer types, as above | integer types, as above |
//!
//! Refused, never rounded or truncated: a time with nanoseconds (PostgreSQL keeps
//! microseconds), a `numeric` wider than `Decimal` or with a fraction into an integer (cast it,
//! or decode into `Decimal`), `infinity` timestamps, a stored value no enum variant has. Every
//! decode error names the column; a value whose kind does not fit the parameter suggests
//! casting the placeholder, unless it already is cast.

mod bind;
mod cancel;
mod connection;
mod copy;
mod driver;
mod error;
mod hosts;
mod row;
mod tls;

pub use cancel::{CancelSocket, PgCanceller};
pub use connection::{PgConnection, SERVER_LIMIT_MARGIN};
pub use copy::CopyIn;
pub use driver::{
    KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES, PgPool, Postgres, connect,
};
pub use row::PgRow;
pub use tls::PgTls;
pub use tokio_postgres;
