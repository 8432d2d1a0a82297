//! The SQLite backend of tethered, on rusqlite with its bundled SQLite (no system library):
//! `tethered::sqlite` with the `sqlite` feature (the `tethered-sqlite` crate is not for
//! direct use).
//!
//! [`connect`] opens a [`SqlitePool`] from a URL (`sqlite://path/to/file.db?mode=rwc`, or
//! `sqlite::memory:`) and checks, under the caller's context, that the database opens.
//!
//! - [`Sqlite`] is the driver: the database, the busy timeout, what runs on each new
//!   connection ([`Sqlite::on_open`]).
//! - [`SqliteConnection`] owns an OS thread that owns the rusqlite connection (it is
//!   `Send`, not `Sync`); statements go there over a channel, answers come back over
//!   oneshots.
//! - [`SqliteCanceller`] stops the running statement with SQLite's interrupt, gated by an
//!   operation id so that a stop can never reach a later statement.
//!
//! # How a statement is stopped
//!
//! Through core's protocol, like the other backends: when the context ends or the future is
//! dropped, the canceller interrupts the connection (`sqlite3_interrupt`), the statement
//! ends with `SQLITE_INTERRUPT` ([`DatabaseErrorKind::Interrupted`]), and the connection's
//! thread takes the next statement at once. A progress handler, called every thousand
//! virtual machine instructions, ends the statement at the context's deadline (plus
//! [`LIMIT_MARGIN`]) from inside the engine, reported as
//! [`DatabaseErrorKind::StatementTimeout`]: this backend's "server-side limit", which
//! works even when nothing on the async side is left. A wait for another connection's lock
//! ends at the busy timeout, the context's deadline, or a stop, whichever comes first.
//! `tethered_sleep(seconds)` is a sleep the stop and the deadline cut short (SQLite has no
//! sleep of its own).
//!
//! A canceller targets one statement, the one running (or queued) at its first request, and
//! `sqlite3_interrupt` is called only under a lock while that statement runs; SQLite clears
//! its interrupt flag when the next statement starts, and the progress handler and busy
//! handler stop a statement only when the request names it. So a stop, however late, never
//! reaches a later statement (a 2,000-trial race test proves it). A statement a stop was
//! asked for that then fails in any way (an interrupt, a lock wait given up, a
//! `tethered_sleep` cut short) is reported as interrupted: the gate makes that safe.
//!
//! Futures and threads: a statement's future only awaits its answer from the connection's
//! thread. Dropped on its own (outside core's protocol), the statement runs on to its end
//! and the next one queues behind it; through core's protocol, which every tethered call
//! goes through, a dropped statement is interrupted in the engine at once, and a dropped
//! connection interrupts whatever its thread still runs.
//!
//! An interrupted write inside an explicit transaction makes SQLite roll back the whole
//! transaction. The connection then refuses the transaction's later statements (their
//! error says the transaction was rolled back) until its `ROLLBACK`, so nothing meant for
//! the transaction runs outside it, and a `COMMIT` fails rather than committing nothing.
//!
//! `sqlite::memory:` is one in-memory database per driver, shared by its pool's
//! connections (SQLite's `memdb` VFS), alive while the driver or a pool on it lives.
//!
//! # Column types
//!
//! | Rust type | stored as | decodes from |
//! |---|---|---|
//! | `i8`..`i64`, `u8`..`u64`, `bool` | INTEGER (`u64` above `i64::MAX` refused) | INTEGER, when the value fits |
//! | `f32`, `f64` | REAL | REAL, INTEGER when exact |
//! | `String`, `Vec<u8>` | TEXT, BLOB | TEXT; BLOB or TEXT |
//! | chrono / time date-times, dates, times | ISO-8601 TEXT (`YYYY-MM-DD HH:MM:SS.ffffff`, instants in UTC with `+00:00`) | that text, `T` or space, any offset |
//! | `Uuid` | TEXT, hyphenated | TEXT, or a 16-byte BLOB |
//! | `serde_json::Value`, `Json<T>` | TEXT | TEXT |
//! | `Decimal` | TEXT (exact digits) | TEXT or INTEGER, when every digit fits |
//!
//! Times with nanoseconds are refused, as on the server backends. Keep decimals in `TEXT`
//! columns: a `DECIMAL`/`NUMERIC` column's numeric affinity turns the exact text into a
//! REAL (decoding that into a `Decimal` is refused). As text, decimals compare as text, not
//! as numbers: filter and order on them in SQL with care.
//!
//! [`DatabaseErrorKind::Interrupted`]: tethered_core::DatabaseErrorKind::Interrupted
//! [`DatabaseErrorKind::StatementTimeout`]: tethered_core::DatabaseErrorKind::StatementTimeout

mod bind;
mod cancel;
mod connection;
mod constraint;
mod driver;
mod error;
mod row;

pub use cancel::SqliteCanceller;
pub use connection::{LIMIT_MARGIN, SqliteConnection};
pub use driver::{DEFAULT_BUSY_TIMEOUT, OnOpen, Sqlite, SqlitePool, connect};
pub use row::SqliteRow;
pub use rusqlite;
