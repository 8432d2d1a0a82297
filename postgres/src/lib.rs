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

mod bind;
mod cancel;
mod connection;
mod driver;
mod error;
mod hosts;
mod row;
mod tls;

pub use cancel::{CancelSocket, PgCanceller};
pub use connection::PgConnection;
pub use driver::{
    KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES, PgPool, Postgres, connect,
};
pub use row::PgRow;
pub use tls::PgTls;
pub use tokio_postgres;
