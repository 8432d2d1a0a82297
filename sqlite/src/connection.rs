//! One SQLite connection: a thread of its own that owns the rusqlite connection and runs
//! one job at a time, and the async handle that sends it jobs and awaits their answers.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream};
use rusqlite::types::Value as SqlValue;
use tethered_core::sea_query::Values;
use tethered_core::{Connection, Ctx, DatabaseError, DatabaseErrorKind, Error, Executed, Result};
use tokio::sync::oneshot;

use crate::bind::params;
use crate::cancel::{Gate, SqliteCanceller};
use crate::constraint;
use crate::error::{Stop, statement_error};
use crate::row::SqliteRow;

/// Added to the time a context has left to make the engine's own limit, so that the
/// context's stop (which the gate proves consumed, keeping the connection) normally comes
/// first; the limit is the backstop for a caller that is gone.
pub const LIMIT_MARGIN: Duration = Duration::from_millis(20);

/// Rows go from the thread to the reader in batches of at most this many: a batch costs
/// one hand-over between the threads, where a row each cost a wake-up each (the thread,
/// blocked on a full channel, woken by every row the reader took: a fifth of raw
/// rusqlite's speed on a 1,000-row `fetch_all`).
const BATCH: usize = 32;

/// Batches on their way, at most: the thread waits (the engine makes no more rows) while
/// the reader is behind, so memory stays bounded by a few batches.
const BATCHES_IN_FLIGHT: usize = 2;

/// What a job asks of the thread.
pub(crate) enum Work {
    Execute,
    /// Send the rows as the engine makes them, in batches; a closed channel ends the
    /// reading.
    Fetch(tokio::sync::mpsc::Sender<Vec<SqliteRow>>),
    Ping,
}

/// What the thread answers once the statement has ended.
pub(crate) enum Done {
    Executed(Executed),
    /// Every row was sent (or the reader went away).
    Fetched,
}

/// One statement for the thread.
pub(crate) struct Job {
    op: u64,
    sql: String,
    values: Vec<SqlValue>,
    work: Work,
    /// The engine's own limit: the context's deadline plus [`LIMIT_MARGIN`].
    limit: Option<Instant>,
    reply: oneshot::Sender<Result<Done>>,
}

/// An open SQLite connection, used by one statement at a time. Its rusqlite connection
/// lives on a thread of its own; statements go there over a channel and their answers come
/// back over oneshots, so the async runtime never blocks on the engine.
///
/// Dropped, it stops whatever statement its thread still runs (the gate's close interrupts
/// it and refuses anything more), and the thread closes the database and ends.
pub struct SqliteConnection {
    jobs: Option<mpsc::Sender<Job>>,
    gate: Arc<Gate>,
    next_op: u64,
    closed: bool,
}

impl std::fmt::Debug for SqliteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteConnection")
            .field("statements", &self.next_op)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl SqliteConnection {
    pub(crate) fn new(jobs: mpsc::Sender<Job>, gate: Arc<Gate>) -> SqliteConnection {
        SqliteConnection {
            jobs: Some(jobs),
            gate,
            next_op: 0,
            closed: false,
        }
    }

    /// Sends one job and waits for its answer.
    ///
    /// Not cancel safe on its own: dropped, the statement still runs on the thread and the
    /// next job waits behind it. Core's protocol never drops it without first asking the
    /// canceller to stop the statement, or dropping the whole connection (which interrupts
    /// it).
    async fn send(&mut self, ctx: &Ctx, sql: &str, values: &Values, work: Work) -> Result<Done> {
        let answer = self.submit(ctx, sql, values, work)?;
        self.answer(answer).await
    }

    /// Hands one job to the thread; its answer comes on the returned channel.
    fn submit(
        &mut self,
        ctx: &Ctx,
        sql: &str,
        values: &Values,
        work: Work,
    ) -> Result<oneshot::Receiver<Result<Done>>> {
        refuse_managed_pragma(sql)?;
        let values = params(values)?;
        let Some(jobs) = self.jobs.as_ref().filter(|_| !self.closed) else {
            return Err(Error::unsent("the connection is closed", None));
        };
        self.next_op += 1;
        let op = self.next_op;
        let limit = ctx
            .remaining()
            .and_then(|left| Instant::now().checked_add(left.saturating_add(LIMIT_MARGIN)));
        let (reply, answer) = oneshot::channel();
        self.gate.submit(op);
        let job = Job {
            op,
            sql: sql.to_owned(),
            values,
            work,
            limit,
            reply,
        };
        if jobs.send(job).is_err() {
            self.closed = true;
            return Err(Error::unsent(
                "the connection's thread has ended; the statement was not sent",
                None,
            ));
        }
        Ok(answer)
    }

    /// The thread's answer to a job.
    async fn answer(&mut self, answer: oneshot::Receiver<Result<Done>>) -> Result<Done> {
        match answer.await {
            Ok(done) => done,
            Err(_) => {
                self.closed = true;
                Err(Error::connection(
                    "the connection's thread ended while the statement ran",
                    None,
                ))
            }
        }
    }
}

impl Drop for SqliteConnection {
    fn drop(&mut self) {
        self.gate.close();
        // The thread sees the channel closed once what it runs has stopped.
        self.jobs = None;
    }
}

impl Connection for SqliteConnection {
    type Canceller = SqliteCanceller;
    type Row = SqliteRow;

    fn canceller(&self) -> SqliteCanceller {
        SqliteCanceller::new(Arc::clone(&self.gate))
    }

    fn is_closed(&self) -> bool {
        self.closed
    }

    /// Asks the thread to answer: it is alive and free.
    ///
    /// Cancel safe: dropped, the thread's answer goes nowhere.
    async fn ping(&mut self) -> Result<()> {
        self.send(&Ctx::background(), "", &Values(Vec::new()), Work::Ping)
            .await
            .map(drop)
    }

    /// Runs the statement on the connection's thread. The context's deadline (plus
    /// [`LIMIT_MARGIN`]) becomes the engine's own limit, and caps the wait for a lock.
    ///
    /// Not cancel safe by itself (see the crate docs); through core's protocol, a dropped
    /// statement is interrupted in the engine.
    async fn execute(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Executed> {
        match self.send(ctx, sql, values, Work::Execute).await? {
            Done::Executed(executed) => Ok(executed),
            Done::Fetched => unreachable!("an execute answers with what it did"),
        }
    }

    /// Runs the query on the connection's thread and yields its rows as the engine makes
    /// them, as [`SqliteConnection::execute`] runs a statement: at most a few batches of 32
    /// rows are on their way, and the engine waits while the reader is behind. The statement's error,
    /// if it ends with one, comes after the rows read before it.
    fn fetch_stream<'c>(
        &'c mut self,
        ctx: &'c Ctx,
        sql: &'c str,
        values: &'c Values,
    ) -> impl Stream<Item = Result<SqliteRow>> + Send + 'c {
        let (sender, batches) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
        let answer = self.submit(ctx, sql, values, Work::Fetch(sender));
        let reading = Reading::Rows {
            batches,
            batch: Vec::new().into_iter(),
            answer,
        };
        stream::unfold((self, reading), |(connection, reading)| async move {
            match reading {
                Reading::Rows {
                    mut batches,
                    mut batch,
                    answer,
                } => {
                    let answer = match answer {
                        Ok(answer) => answer,
                        Err(error) => return Some((Err(error), (connection, Reading::Over))),
                    };
                    loop {
                        if let Some(row) = batch.next() {
                            let reading = Reading::Rows {
                                batches,
                                batch,
                                answer: Ok(answer),
                            };
                            return Some((Ok(row), (connection, reading)));
                        }
                        match batches.recv().await {
                            Some(next) => batch = next.into_iter(),
                            None => break,
                        }
                    }
                    // Every row is in: the statement's end says how it went.
                    match connection.answer(answer).await {
                        Ok(_) => None,
                        Err(error) => Some((Err(error), (connection, Reading::Over))),
                    }
                }
                Reading::Over => None,
            }
        })
    }
}

/// Where a [`SqliteConnection::fetch_stream`] is.
enum Reading {
    /// Rows may still come; then the statement's answer.
    Rows {
        batches: tokio::sync::mpsc::Receiver<Vec<SqliteRow>>,
        /// The batch being handed out.
        batch: std::vec::IntoIter<SqliteRow>,
        answer: Result<oneshot::Receiver<Result<Done>>>,
    },
    /// An error was yielded: nothing follows it.
    Over,
}

/// Refuses a `PRAGMA busy_timeout = ...`: it would replace the busy handler that caps each
/// lock wait by the statement's context (reading it, `PRAGMA busy_timeout`, is fine).
fn refuse_managed_pragma(sql: &str) -> Result<()> {
    let text = sql.to_ascii_lowercase();
    if leading_word(sql) == "PRAGMA"
        && text.contains("busy_timeout")
        && (text.contains('=') || text.contains('('))
    {
        return Err(Error::InvalidInput(
            "tethered sets `busy_timeout` itself, from each statement's context: give the \
             context a deadline (`ctx.with_timeout(...)`) or the driver a busy timeout \
             (`Sqlite::busy_timeout`) instead of setting it"
                .into(),
        ));
    }
    Ok(())
}

/// The connection's thread: runs jobs until the handle is dropped.
pub(crate) struct Worker {
    pub(crate) conn: rusqlite::Connection,
    pub(crate) gate: Arc<Gate>,
    pub(crate) busy_timeout: Duration,
    /// Set when a failed statement ended the transaction it ran in (SQLite rolls back the
    /// whole transaction when a write in it is interrupted, and on some other errors):
    /// until the transaction is ended, statements are refused rather than run outside it.
    lost_transaction: bool,
}

/// How a statement starts, for the lost-transaction rule.
fn leading_word(sql: &str) -> String {
    sql.trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

impl Worker {
    pub(crate) fn new(
        conn: rusqlite::Connection,
        gate: Arc<Gate>,
        busy_timeout: Duration,
    ) -> Worker {
        Worker {
            conn,
            gate,
            busy_timeout,
            lost_transaction: false,
        }
    }

    pub(crate) fn run(mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(job) = jobs.recv() {
            let answer = self.job(job.op, &job.sql, &job.values, &job.work, job.limit);
            // Nobody waiting: the statement's future was dropped.
            let _ = job.reply.send(answer);
        }
    }

    fn job(
        &mut self,
        op: u64,
        sql: &str,
        values: &[SqlValue],
        work: &Work,
        limit: Option<Instant>,
    ) -> Result<Done> {
        let busy_until = Instant::now() + self.busy_timeout;
        if !self.gate.begin(op, limit, busy_until) {
            self.gate.end(op);
            return Err(statement_error(
                rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERRUPT),
                    Some("stopped before it started".into()),
                ),
                Stop::Requested,
            ));
        }
        let in_transaction = !self.conn.is_autocommit();
        let result = match work {
            Work::Ping => Ok(Done::Executed(Executed::default())),
            _ if self.lost_transaction => self.after_lost_transaction(sql, values, work),
            _ => self.statement(sql, values, work),
        };
        let stop = if self.gate.stop_requested(op) {
            Stop::Requested
        } else if self.gate.timed_out() {
            Stop::Limit
        } else {
            Stop::None
        };
        self.gate.end(op);
        result.map_err(|error| {
            if in_transaction && self.conn.is_autocommit() {
                self.lost_transaction = true;
            }
            match error {
                Failure::Sqlite(error) => self.named(sql, statement_error(error, stop)),
                Failure::Tethered(error) => error,
            }
        })
    }

    /// A violation with the name of its constraint, read from the schema where SQLite's
    /// message leaves it out (see [`crate::constraint`]).
    fn named(&self, sql: &str, error: Error) -> Error {
        let Error::Database(database) = error else {
            return error;
        };
        if database
            .constraint()
            .is_some_and(|named| !named.contains('.'))
        {
            return Error::Database(database);
        }
        let name = match database.kind() {
            DatabaseErrorKind::UniqueViolation => database
                .message()
                .split_once("constraint failed: ")
                .and_then(|(_, subject)| constraint::unique(&self.conn, subject)),
            DatabaseErrorKind::ForeignKeyViolation => constraint::foreign_key(&self.conn, sql),
            _ => None,
        };
        match name {
            Some(name) => Error::Database(Box::new((*database).with_constraint(name))),
            None => Error::Database(database),
        }
    }

    /// A statement after a failure ended the transaction: `ROLLBACK` ends it (nothing left
    /// to roll back), `BEGIN` starts anew, anything else is refused, so that what was meant
    /// to be part of the transaction does not run on its own.
    fn after_lost_transaction(
        &mut self,
        sql: &str,
        values: &[SqlValue],
        work: &Work,
    ) -> Result<Done, Failure> {
        match leading_word(sql).as_str() {
            "ROLLBACK" => {
                self.lost_transaction = false;
                Ok(Done::Executed(Executed::default()))
            }
            "BEGIN" => {
                self.lost_transaction = false;
                self.statement(sql, values, work)
            }
            word => {
                if matches!(word, "COMMIT" | "END") {
                    self.lost_transaction = false;
                }
                Err(Failure::Tethered(
                    DatabaseError::new(
                        "SQLITE_ABORT_ROLLBACK",
                        "the transaction was rolled back: a statement in it was stopped or \
                         failed, and SQLite then rolls back the whole transaction",
                    )
                    .with_number(rusqlite::ffi::SQLITE_ABORT_ROLLBACK as u16)
                    .into(),
                ))
            }
        }
    }

    fn statement(&mut self, sql: &str, values: &[SqlValue], work: &Work) -> Result<Done, Failure> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let expected = statement.parameter_count();
        if expected != values.len() {
            return Err(Failure::Tethered(Error::InvalidInput(format!(
                "the statement has {expected} placeholders but {} values were bound",
                values.len()
            ))));
        }
        for (i, value) in values.iter().enumerate() {
            statement.raw_bind_parameter(i + 1, value)?;
        }
        match work {
            Work::Fetch(sender) => {
                let columns: Arc<[String]> = statement.column_names().map(str::to_owned).collect();
                let width = columns.len();
                let mut rows = statement.raw_query();
                let mut batch = Vec::with_capacity(BATCH);
                while let Some(row) = rows.next()? {
                    let values = (0..width)
                        .map(|i| row.get::<_, SqlValue>(i))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    batch.push(SqliteRow::new(Arc::clone(&columns), values));
                    // A full batch goes; so does any row while the channel is empty, as the
                    // reader may be waiting for it. Rows are held back only while the reader
                    // has a batch to read: they go with the next row the engine makes, or
                    // at the end.
                    let reader_waits = sender.capacity() == sender.max_capacity();
                    if (batch.len() == BATCH || reader_waits)
                        && !send(
                            sender,
                            std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                        )
                    {
                        return Ok(Done::Fetched);
                    }
                }
                if !batch.is_empty() {
                    send(sender, batch);
                }
                Ok(Done::Fetched)
            }
            _ => {
                let writes = !statement.readonly();
                let mut rows = statement.raw_query();
                while rows.next()?.is_some() {}
                drop(rows);
                let rows_affected = if writes { self.conn.changes() } else { 0 };
                Ok(Done::Executed(Executed {
                    rows_affected,
                    last_insert_id: None,
                }))
            }
        }
    }
}

/// A statement's failure on the thread, before it is mapped.
enum Failure {
    Sqlite(rusqlite::Error),
    Tethered(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure::Sqlite(error)
    }
}

/// Hands `batch` to the reader, waiting while the reader is behind: `false` once the reader
/// is gone, which ends the statement (core reads every stream to its end, so only a closed
/// connection does).
fn send(sender: &tokio::sync::mpsc::Sender<Vec<SqliteRow>>, batch: Vec<SqliteRow>) -> bool {
    sender.blocking_send(batch).is_ok()
}
