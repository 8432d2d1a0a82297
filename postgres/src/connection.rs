//! One PostgreSQL connection: a prepared-statement cache and the server-side deadline.

use std::future::Future;
use std::time::Duration;

use futures_util::{Stream, StreamExt, TryFutureExt};
use rustc_hash::FxHashMap;
use tethered_core::sea_query::{Value, Values};
use tethered_core::server_deadline::{limit_for, refuse_managed_setting, still_fits};
use tethered_core::{Connection, Ctx, DatabaseError, DatabaseErrorKind, Error, Executed, Result};
use tokio::time::Instant;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, RowStream, Statement};

use crate::bind::{CopyRow, pg_values};
use crate::cancel::{CancelTarget, PgCanceller};
use crate::copy::{CopySql, check_rows};
use crate::error::statement_error;
use crate::row::PgRow;
use crate::tls::PgTls;

/// Prepared statements kept per connection; past this the cache starts over.
const STATEMENT_CACHE: usize = 256;

/// PostgreSQL's largest `statement_timeout` (an int4 of milliseconds).
const MAX_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// How long after the context's deadline the server's own `statement_timeout` fires: a
/// CancelRequest normally lands within a few milliseconds, and the timer is the backend's
/// own (a signal to one process), so firing close behind the client's stop costs nothing.
pub const SERVER_LIMIT_MARGIN: Duration = Duration::from_millis(20);

/// An open connection, used by one statement at a time.
pub struct PgConnection<T> {
    client: Client,
    canceller: PgCanceller<T>,
    /// Keyed by SQL text, hashed with Fx: the text is hashed on every statement.
    statements: FxHashMap<String, Statement>,
    timeout: SessionTimeout,
}

/// A statement ready to run, and the command to send just before it.
struct Prepared {
    statement: Statement,
    command: Option<String>,
    /// When the statement began, if a server-side limit is in force.
    started: Option<Instant>,
}

/// What this session's `statement_timeout` is known to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionTimeout {
    /// The server's default, as configured for the role and database.
    Default,
    /// Set by us to this limit.
    Limit(Duration),
    /// Possibly reverted by a rollback, or a change failed: set it again before relying on it.
    Unknown,
}

/// Runs `$attempt`, a statement on `$connection`: sent on a session already closed it is
/// [`Error::unsent`] and nothing goes out; refused for a stale cached plan it is prepared
/// again, once, and sent again (nothing of the first attempt ran). In a transaction the
/// refusal aborted the transaction, so the second attempt fails with 25P02: the caller then
/// gets the first error, which says why.
macro_rules! replanned {
    ($connection:ident, $sql:expr, $attempt:block) => {{
        if $connection.client.is_closed() {
            return Err(Error::unsent(
                "the connection was closed before the statement was sent",
                None,
            ));
        }
        let was_cached = $connection.statements.contains_key($sql);
        match $attempt {
            Err(error) if was_cached && stale_plan(&error) => {
                $connection.statements.remove($sql);
                match $attempt {
                    Err(again) if again.code() == Some("25P02") => Err(error),
                    again => again,
                }
            }
            done => done,
        }
    }};
}

impl<T> PgConnection<T> {
    pub(crate) fn new(client: Client, tls: T, cancel_target: CancelTarget) -> PgConnection<T> {
        PgConnection {
            canceller: PgCanceller::new(client.cancel_token(), tls, cancel_target),
            client,
            statements: FxHashMap::default(),
            timeout: SessionTimeout::Default,
        }
    }

    /// The tokio-postgres client, for what tethered does not wrap. A statement sent
    /// through it directly is not tethered to any context.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The command that brings the session's `statement_timeout` in line with `ctx`, if
    /// one is needed; the new setting is recorded as if it had succeeded.
    fn timeout_command(&mut self, ctx: &Ctx) -> Option<String> {
        match (ctx.remaining(), self.timeout) {
            (None, SessionTimeout::Default) => None,
            (None, _) => {
                self.timeout = SessionTimeout::Default;
                Some("RESET statement_timeout".to_owned())
            }
            (Some(remaining), SessionTimeout::Limit(current))
                if still_fits(current, remaining, SERVER_LIMIT_MARGIN, MAX_TIMEOUT) =>
            {
                None
            }
            (Some(remaining), _) => {
                let limit = limit_for(remaining, SERVER_LIMIT_MARGIN, MAX_TIMEOUT);
                self.timeout = SessionTimeout::Limit(limit);
                Some(format!("SET statement_timeout = {}", limit.as_millis()))
            }
        }
    }

    /// The prepared statement for `sql` (from the cache, or prepared now), and the command
    /// that must precede it to bring the server-side limit in line with `ctx`. When the
    /// statement has to be prepared, the command goes out with the preparation instead.
    async fn prepare(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Prepared> {
        let cached = self.statements.get(sql).cloned();
        // A cached statement passed this check when it was prepared.
        if cached.is_none() {
            refuse_managed_setting(sql, "statement_timeout")?;
        }
        let mut command = self.timeout_command(ctx);
        // Only a statement under our own limit needs its start time (see `settle`).
        let started = matches!(self.timeout, SessionTimeout::Limit(_)).then(Instant::now);
        let statement = match cached {
            Some(statement) => statement,
            None => {
                let prepare = self.client.prepare(sql);
                let (set, prepared) = pipelined(&self.client, command.take(), prepare).await;
                let statement = self
                    .settle(sql, set, prepared, started)
                    .map_err(several_statements)?;
                if self.statements.len() >= STATEMENT_CACHE {
                    self.statements.clear();
                }
                self.statements.insert(sql.to_owned(), statement.clone());
                statement
            }
        };
        if statement.params().len() != values.0.len() {
            return Err(Error::InvalidInput(format!(
                "the statement has {} placeholders but {} values were bound",
                statement.params().len(),
                values.0.len()
            )));
        }
        Ok(Prepared {
            statement,
            command,
            started,
        })
    }

    /// Combines a statement's outcome with that of the command sent ahead of it.
    fn settle<R>(
        &mut self,
        sql: &str,
        set: Result<(), tokio_postgres::Error>,
        output: Result<R, tokio_postgres::Error>,
        started: Option<Instant>,
    ) -> Result<R> {
        // A rollback reverts a SET made inside the transaction.
        if starts_rollback(sql) {
            self.timeout = SessionTimeout::Unknown;
        }
        match (set, output) {
            // The command failed first; what followed is a consequence.
            (Err(set), Err(_)) => Err(self.failed(set, started)),
            (Err(_), Ok(output)) => {
                self.timeout = SessionTimeout::Unknown;
                Ok(output)
            }
            (Ok(()), output) => output.map_err(|error| self.failed(error, started)),
        }
    }

    /// The error of a statement (or of the command before it) that failed, `started` when
    /// it did. The session's limit is then unknown: an error may lead to a rollback, which
    /// reverts a SET made inside the transaction.
    fn failed(&mut self, error: tokio_postgres::Error, started: Option<Instant>) -> Error {
        self.timeout = SessionTimeout::Unknown;
        let timeout = self.timeout;
        statement_error(error, |message| {
            message.contains("statement timeout")
                || matches!((timeout, started), (SessionTimeout::Limit(limit), Some(started))
                    if started.elapsed() >= limit)
        })
    }

    /// Sends `sql` (with the command it needs first) and waits until the server has bound
    /// it; its rows are read from the stream returned, with when it started.
    async fn start_query(
        &mut self,
        ctx: &Ctx,
        sql: &str,
        values: &Values,
    ) -> Result<(RowStream, Option<Instant>)> {
        replanned!(self, sql, {
            let prepared = self.prepare(ctx, sql, values).await?;
            let run = self
                .client
                .query_raw(&prepared.statement, pg_values(sql, &values.0));
            let (set, output) = pipelined(&self.client, prepared.command, run).await;
            let started = prepared.started;
            self.settle(sql, set, output, started)
                .map(|rows| (rows, started))
        })
    }
}

impl<T> PgConnection<T> {
    /// Copies `rows` (each the values of `copy`'s columns) with `COPY ... FROM STDIN (FORMAT
    /// binary)`, giving up once `ctx` has ended; returns the rows stored.
    ///
    /// The columns' types come first, from the preparation of an insert of the same
    /// columns (with the session's time limit set ahead of it, in the same round trip), and
    /// every value is checked against them before the copy starts: a value its column
    /// cannot take is [`Error::InvalidInput`], and no row is sent.
    ///
    /// A copy can only end well with `CopyDone`, and tokio-postgres sends `CopyFail` when
    /// the copy's sink is dropped unfinished. So once `ctx` has ended, checked before each
    /// row, the copy is given up that way: in-band, so the server aborts it whatever
    /// became of the CancelRequest the protocol sends beside it, and nothing of it is
    /// stored. (Waiting for the CancelRequest instead would not do: a backend blocked
    /// reading copy data takes a cancel only once more data arrives, and finishing the
    /// copy to read the server's answer would store it if the cancel came late.)
    pub(crate) async fn copy_in(
        &mut self,
        ctx: &Ctx,
        copy: &CopySql,
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        if self.client.is_closed() {
            return Err(Error::unsent(
                "the connection was closed before the copy was sent",
                None,
            ));
        }
        let command = self.timeout_command(ctx);
        let started = matches!(self.timeout, SessionTimeout::Limit(_)).then(Instant::now);
        let probe = self.client.prepare(copy.probe());
        let (set, probe) = pipelined(&self.client, command, probe).await;
        let probe = self.settle(copy.probe(), set, probe, started)?;
        check_rows(copy, rows, probe.params())?;
        let sink = self
            .client
            .copy_in(copy.statement())
            .await
            .map_err(|error| self.failed(error, started))?;
        // Boxed, so that it can be dropped part-way: that is what sends `CopyFail`.
        let mut writer = Box::pin(BinaryCopyInWriter::new(sink, probe.params()));
        for row in rows {
            if ctx.is_done() {
                drop(writer);
                return self.given_up(started).await;
            }
            let written = writer.as_mut().write_raw(CopyRow::new(row)).await;
            written.map_err(|error| self.failed(error, started))?;
        }
        let stored = writer.as_mut().finish().await;
        stored.map_err(|error| self.failed(error, started))
    }

    /// The end of a copy given up part-way, once tokio-postgres has sent `CopyFail`: the
    /// server answers it with 57014 (query canceled) and nothing of the copy is stored.
    ///
    /// tokio-postgres discards that answer with the sink, so a round trip of nothing waits
    /// for it: once the round trip is answered, the server has read the `CopyFail` and the
    /// copy is over. Then the copy ends with the 57014 the server sent, as a statement
    /// stopped by a CancelRequest does, which is what keeps the connection (once every
    /// CancelRequest sent beside it has been acted on). The round trip also takes a late
    /// CancelRequest's hit, if one lands on it. It also means this future is always
    /// pending once, so the protocol sees the context ended before the copy's end.
    async fn given_up(&mut self, started: Option<Instant>) -> Result<u64> {
        // The copy failed: as after any failure, the session's limit is unknown (a failure
        // in a transaction leads to a rollback, which reverts a SET made in it).
        self.timeout = SessionTimeout::Unknown;
        match self.client.batch_execute("").await {
            Ok(()) => {}
            Err(error) if error.code() == Some(&SqlState::QUERY_CANCELED) => {}
            Err(error) => return Err(self.failed(error, started)),
        }
        Err(DatabaseError::new(
            "57014",
            "COPY from stdin failed: the context ended and the copy was given up",
        )
        .with_kind(DatabaseErrorKind::Interrupted)
        .into())
    }
}

/// PostgreSQL refuses a text of several statements when it is prepared; said here as the
/// MySQL/MariaDB backend says it, so the same code meets the same error on each backend.
fn several_statements(error: Error) -> Error {
    match error.as_database_error() {
        Some(db)
            if db.code() == "42601"
                && db.message().starts_with("cannot insert multiple commands") =>
        {
            Error::InvalidInput(
                "one statement per call: the text holds more than one; send them one by one"
                    .to_owned(),
            )
        }
        _ => error,
    }
}

/// Whether `sql` is a ROLLBACK (or ABORT), which reverts session settings made since the
/// transaction (or savepoint) began.
fn starts_rollback(sql: &str) -> bool {
    let head = sql.trim_start();
    ["rollback", "abort"].iter().any(|word| {
        head.get(..word.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(word))
    })
}

/// Runs `statement` with `command` sent just before it on the same connection: both go out
/// back to back and share one round trip.
async fn pipelined<F: Future>(
    client: &Client,
    command: Option<String>,
    statement: F,
) -> (Result<(), tokio_postgres::Error>, F::Output) {
    match command {
        None => (Ok(()), statement.await),
        // Biased: the command is queued first, so the server runs it first.
        Some(command) => tokio::join!(biased; client.batch_execute(&command), statement),
    }
}

impl<T: PgTls> Connection for PgConnection<T> {
    type Canceller = PgCanceller<T>;
    type Row = PgRow;

    fn canceller(&self) -> PgCanceller<T> {
        self.canceller.clone()
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn ping(&mut self) -> Result<()> {
        let answered = self.client.batch_execute("").await;
        answered.map_err(|error| statement_error(error, |_| false))
    }

    async fn execute(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Executed> {
        replanned!(self, sql, {
            let prepared = self.prepare(ctx, sql, values).await?;
            let run = self
                .client
                .execute_raw(&prepared.statement, pg_values(sql, &values.0));
            let (set, output) = pipelined(&self.client, prepared.command, run).await;
            self.settle(sql, set, output, prepared.started)
                .map(|rows_affected| Executed {
                    rows_affected,
                    last_insert_id: None,
                })
        })
    }

    fn fetch_stream<'c>(
        &'c mut self,
        ctx: &'c Ctx,
        sql: &'c str,
        values: &'c Values,
    ) -> impl Stream<Item = Result<PgRow>> + Send + 'c {
        async move {
            let (rows, started) = self.start_query(ctx, sql, values).await?;
            // One map for both arms, not `map_ok` and `map_err`: a layer less per row.
            let rows = rows.map(move |row| match row {
                Ok(row) => Ok(PgRow::new(row)),
                Err(error) => Err(self.failed(error, started)),
            });
            Ok(rows)
        }
        .try_flatten_stream()
    }
}

/// Whether `error` is PostgreSQL refusing a cached plan that the schema changed under it
/// (0A000 "cached plan must not change result type", after an `ALTER TABLE` changed what
/// a cached `SELECT *` returns). The server refuses it before executing anything.
fn stale_plan(error: &Error) -> bool {
    error.as_database_error().is_some_and(|db| {
        db.code() == "0A000" && db.message().starts_with("cached plan must not change")
    })
}

#[cfg(test)]
mod tests {
    use super::starts_rollback;

    #[test]
    fn rollbacks_are_recognised_whatever_their_case_and_spacing() {
        for sql in [
            "ROLLBACK",
            "  rollback to savepoint a",
            "Abort",
            "\nROLLBACK;",
        ] {
            assert!(starts_rollback(sql), "{sql:?}");
        }
        for sql in ["SELECT 1", "COMMIT", "roll", ""] {
            assert!(!starts_rollback(sql), "{sql:?}");
        }
    }
}
