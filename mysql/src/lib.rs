//! The MySQL/MariaDB backend of tethered, on mysql_async: `tethered::mysql` with the
//! `mysql` feature (the `tethered-mysql` crate is not for direct use).
//!
//! [`connect`] opens a [`MyPool`] from a URL (`mysql://user[:password]@host[:port]/db`,
//! with mysql_async's URL parameters) and checks, under the caller's context, that a
//! connection can be made; [`MySql::new`] takes `mysql_async::Opts` built in code. TLS is
//! not supported yet: mysql_async is built without its TLS features.
//!
//! - [`MySql`] is the driver: connection options and the *kill lines*, connections outside
//!   the pool that cancels go over (one per kill in flight, a few kept idle, each on the
//!   server its target is on). Each pooled connection is one plain `mysql_async::Conn`;
//!   mysql_async's own pool is not used, tethered's is.
//! - [`MyConnection`] runs a statement with bound values as a prepared statement
//!   (mysql_async's per-connection cache, keyed by text) and one without values as text.
//!   A context with a deadline puts the server's own limit into the statement text, so no
//!   extra round trip is needed (see *Server flavours*).
//! - [`MyCanceller`] sends `KILL QUERY <connection id>` over a kill line of its own and
//!   completes once the server has answered, by which time the target's kill flag is set.
//!   Core sends it again while the statement runs: a kill processed before the server has
//!   read the statement's command is cleared when that command starts (see below).
//! - One statement per text: mysql_async always enables multi-statement texts, and the
//!   server-side limit would cover only the first, so a text with a second statement is
//!   refused before anything is sent (as PostgreSQL refuses it), and so is a statement
//!   that sets `max_statement_time` or `max_execution_time`, which tethered manages.
//! - Values are bound with their own type and signedness (`u64::MAX` stays itself), and
//!   sessions run in strict mode, so a value that does not fit its column is error 1264,
//!   never a silent truncation. [`MyRow`] decodes text and binary results alike.
//!
//! # Server flavours
//!
//! The flavour is read from `@@version` at connect. What differs (the MySQL column follows
//! MySQL's manual; the tests run against MariaDB):
//!
//! | | MariaDB (10.1.2 and later) | MySQL 8 |
//! |---|---|---|
//! | server-side limit | `SET STATEMENT max_statement_time=<s> FOR <statement>`, on every statement | `/*+ MAX_EXECUTION_TIME(<ms>) */` after a leading `SELECT`; other statements run without one |
//! | largest limit | 31 536 000 s | 4 294 967 295 ms |
//! | limit passed | error 1969 | error 3024 |
//! | a kill stops `SELECT SLEEP()` with | error 1317 | `SLEEP()` returning 1 (per MySQL's manual) |
//!
//! The limit is derived from the time left with
//! [`limit_for`](tethered_core::server_deadline::limit_for): at least the time left plus
//! [`SERVER_LIMIT_MARGIN`] (500 ms), rounded up to a power of two milliseconds. A statement run under ever-changing
//! deadlines so has few distinct texts: 200 selects with 0.5 s to 5 s left prepared 4
//! statements, and none once those were cached (test `deadlines_keep_the_statement_texts_few`).
//! A statement without a deadline is sent as written.
//!
//! Both servers end a statement stopped by `KILL QUERY` with error 1317
//! (`Interrupted`) and a statement stopped by their own limit with 1969 or 3024
//! (`StatementTimeout`); `KILL CONNECTION` from elsewhere, a lost socket, and errors 1053,
//! 1927, 2006, 2013 and 4031 are connection errors, after which the connection is closed
//! and the pool opens another.
//!
//! # What `KILL QUERY` does, measured on MariaDB 10.11
//!
//! Core keeps a connection after a cancel only when its statement ended with the server's
//! "interrupted" error; anything else closes it. These experiments (the
//! `server_behaviour` tests, plain mysql_async connections) show that this is safe here:
//!
//! - **A kill that reaches an idle connection does not touch its next statement** (200 of
//!   200 trials, kills sent right before the next statement or 2 ms earlier; and in 300
//!   kills racing the end of a 4 ms statement, none reached the next one): a pending kill
//!   flag is evidently cleared when the next command starts.
//! - **A kill that lands on a running statement ends it with 1317 and is spent**:
//!   `SELECT SLEEP(10)` (in the text and the binary protocol, alone or in a subquery) and a
//!   CPU-bound cross join always ended with 1317, and the next statement ran untouched.
//! - **Some statements swallow a kill**: `BENCHMARK()` stops early and returns 0, its normal
//!   result; `DO SLEEP()` ends with OK (and so, per its manual, does MySQL's `SELECT SLEEP()`). Such a
//!   statement looks completed, so core reports `StatementOutcome::Completed` and closes the
//!   connection rather than trust it: whether a kill is pending cannot be told. In the
//!   2,000-trial race test about one trial in ten ends this way.
//!
//! The first finding has a consequence: a statement with bound values that is not yet in
//! the statement cache takes two commands (prepare, then execute), and a kill landing
//! between them is cleared when the execute starts. So a connection counts the cancels
//! asked for on it, and a statement whose cancel came while it was being prepared is not
//! executed; it ends as an interrupted one (1317), and the connection is kept.
//!
//! # When a statement is sent again
//!
//! A session the server closed while it was idle (`KILL`, `wait_timeout`, a restart) is
//! not known to mysql_async until something is written to it: MariaDB resets the
//! connection, and the write fails with `EPIPE` ("Broken pipe"). `EPIPE` comes only from a
//! write, and only once the server had already dropped the session, so no part of the
//! statement can have run: that failure is [`Error::unsent`](tethered_core::Error::unsent),
//! and the pool sends the statement once more on another connection (after pinging the
//! other idle ones). So is a statement on a connection mysql_async already marked
//! disconnected, which is not sent at all. Every other lost connection (a reset or an end
//! of stream while reading the answer) may have run the statement and is reported as it is.
//! Measured: 8 idle sessions killed, then 16 requests: all succeed (test
//! `every_idle_session_killed_on_the_server_then_every_request_succeeds`).
//!
//! A statement whose text and values exceed the server's `max_allowed_packet` (read at
//! connect) is refused as `InvalidInput` before it is sent: sent, the server would close
//! the connection and mysql_async would report its packets out of sync.
//!
//! `KILL QUERY` itself takes one round trip on the kill line (about 30 µs over a Unix
//! socket here). A kill line the server closed (after `wait_timeout`, or killed) is
//! reopened and the request sent again: a request the server never read can never run
//! later.
//!
//! - **`KILL` can wait on its target for up to 2 s.** MariaDB's `THD::awake` wakes a
//!   statement waiting on a condition by locking the mutex it waits with, retrying a
//!   `trylock` every 50 ms for up to `SECONDS_TO_WAIT_FOR_KILL` (2 s) while holding the
//!   target's own mutex, which the statement needs to end. `SLEEP()` waits with one mutex
//!   shared by every `SLEEP()` on the server, so when several run at once a kill can take
//!   seconds, and the statement with it; a second kill of the same statement waits again
//!   (so core asks again only after an answer, or beside one unanswered for a second),
//!   and the statement timer of
//!   `max_statement_time`, one thread for the whole server, can be caught the same way and
//!   hold up other sessions' statements as they end. Measured: 4 sessions killing 5 ms
//!   sleeps 2,000 times left statements in `Query end` for up to 6 s. Such a stop reaches
//!   the caller as `Stopping` (or `Unknown` past the cancel grace, 3 s by default); CPU-bound
//!   statements, which wait on no condition, stop at once.
//!
//! - **A statement that outlives its own limit can leave the limit's kill behind.** The
//!   timer thread takes a due timer off its queue, then waits for the session's kill lock,
//!   which a `KILL QUERY` of the same statement may hold; if the statement ends meanwhile,
//!   the timer's kill lands on the session's next statement (1969 on a `SELECT 1` with no
//!   limit, about one 2,000-trial race run in 18). So a statement whose end was read at or
//!   after its limit could have come due (or never read) closes its connection rather than
//!   being kept (`statement_timer.rs`); 40 race runs after the change: 39 such
//!   connections closed, 0 later statements hit.
//!
//! # Column types
//!
//! Each Rust type, with its feature where it needs one (`tethered` features `chrono`, `time`,
//! `uuid`, `json`, `decimal`):
//!
//! | Rust type | binds as (the server converts to the column's type, strictly) | decodes from |
//! |---|---|---|
//! | `i8`..`i64`, `u8`..`u64`, `bool` | 64-bit signed or unsigned integers | integer columns, and `DECIMAL` holding a whole number (`SUM`), when the value fits |
//! | `f32`, `f64` | `FLOAT`, `DOUBLE` | `FLOAT` (`f64`: `DOUBLE` too) |
//! | `String`, `&str` | text | text columns, `ENUM`, `SET`, `JSON`, `DECIMAL` |
//! | `Vec<u8>` | bytes | text and binary columns, `BIT` |
//! | `DateTime<Utc>` (`chrono`) | `DATETIME` value, UTC | `DATETIME(6)`, `TIMESTAMP(6)` (sessions run in UTC) |
//! | `DateTime<FixedOffset>` (`chrono`) | as `DateTime<Utc>`; an offset other than UTC is refused | as `DateTime<Utc>`, offset +00:00 |
//! | `NaiveDateTime` (`chrono`) | `DATETIME` value | `DATETIME(6)`, `TIMESTAMP(6)` |
//! | `NaiveDate` (`chrono`) | `DATETIME` value at midnight | `DATE` |
//! | `NaiveTime` (`chrono`) | `TIME` value | `TIME(6)` between 0 and 24 hours |
//! | `OffsetDateTime` (`time`) | `DATETIME` value; an offset other than UTC is refused | `DATETIME(6)`, `TIMESTAMP(6)`, in UTC |
//! | `PrimitiveDateTime` / `Date` / `Time` (`time`) | `DATETIME` / `DATETIME` at midnight / `TIME` values | `DATETIME(6)`, `TIMESTAMP(6)` / `DATE` / `TIME(6)` within a day |
//! | `Uuid` (`uuid`) | hyphenated text (`CHAR(36)`, MariaDB `UUID`); for `BINARY(16)` bind `uuid.as_bytes().to_vec()` | `CHAR(36)`, `UUID`, `BINARY(16)` |
//! | `serde_json::Value`, `Json<T>` (`json`) | JSON text | `JSON` and text columns |
//! | `Decimal` (`decimal`) | decimal text | `DECIMAL` (padding zeros of the scale aside, every digit must fit) and integer columns |
//! | `#[derive(Enum)]`, text | text | text columns, `ENUM` |
//! | `#[derive(Enum)]`, `#[repr(i32)]`... | integer | integer columns |
//!
//! Refused, never rounded or truncated: a time with nanoseconds (the server keeps
//! microseconds), a year outside 1 to 9999, a zoned time not in UTC (a `DATETIME` keeps no
//! zone), a `TIME` beyond a day into `NaiveTime`, a `DATETIME` into `NaiveDate`, a `DECIMAL`
//! wider than `Decimal`, a stored value no enum variant has. Every decode error names the
//! column.

mod bind;
mod cancel;
mod connection;
mod driver;
mod error;
mod flavour;
mod row;
mod single_statement;
mod statement_timer;

pub use cancel::MyCanceller;
pub use connection::MyConnection;
pub use driver::{KEEPALIVE_IDLE, MyPool, MySql, connect};
pub use flavour::SERVER_LIMIT_MARGIN;
pub use mysql_async;
pub use row::MyRow;
