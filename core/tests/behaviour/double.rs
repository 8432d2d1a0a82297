//! An in-process stand-in for a database server, for testing core's protocol logic only
//! (the real servers are tested in the backend crates).
//!
//! Statements are tiny commands: `rows <n>` (returns n rows at once), `flood` (rows without
//! end, each ready at once, until a stop request arrives), `sleep <ms>`,
//! `fail <ms>` (a syntax error after that long), `timeout <ms>` (the server's own statement
//! timer fires after that long), and `BEGIN`, `COMMIT` (taking the server's commit time)
//! and `ROLLBACK`; `lose` fails as a lost connection does. A stop request behaves as the
//! server's [`OnCancel`] says. Like PostgreSQL, a stop request that finds no statement
//! running stays pending and interrupts the session's next statement: exactly the hazard
//! the protocol must never expose to a caller.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::Either;
use futures_util::{Stream, TryFutureExt, stream};
use tethered_core::sea_query::{PostgresQueryBuilder, Values};
use tethered_core::{
    Canceller, ColumnRef, Connection, Ctx, DatabaseError, DatabaseErrorKind, Decodes, Driver,
    Error, Executed, FromRow, Pool, PoolOptions, Result, Row,
};
use tokio::sync::Notify;

/// What the server does with a stop request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCancel {
    /// Stops the statement with the "interrupted" error (PostgreSQL 57014, MySQL 1317).
    Stop,
    /// Accepts the request but lets the statement run on; the request stays pending.
    Ignore,
    /// The statement ends with the server's own statement-timeout error instead.
    StopByTimer,
    /// The request cannot be delivered.
    Refuse,
    /// The request never completes.
    Hang,
}

/// The server's own view, which tests assert on.
#[derive(Debug)]
pub struct Server {
    on_cancel: OnCancel,
    cancel_delay: Duration,
    pub commit_millis: AtomicU64,
    /// How long a stop request takes to complete after it has reached the statement (as
    /// PostgreSQL's second signal does), in milliseconds.
    pub cancel_tail_millis: AtomicU64,
    /// How many of the next stop requests are lost, as PostgreSQL drops a cancel that
    /// reaches a backend waiting for the client's next message: they complete, and the
    /// statement runs on.
    pub lose_cancels: AtomicUsize,
    /// How many of the next stop requests never answer, as on a link that froze.
    pub hang_cancels: AtomicUsize,
    /// How many of the next connection attempts fail.
    pub refuse_connects: AtomicUsize,
    /// How long connecting takes, in milliseconds.
    pub connect_millis: AtomicU64,
    /// Sessions the server has closed from its side.
    killed: Mutex<Vec<usize>>,
    /// Sessions the server has closed without the client knowing yet, as a MariaDB
    /// session killed while idle: the next write on it fails (unsent), and so does a ping.
    dropped: Mutex<Vec<usize>>,
    pub connects: AtomicUsize,
    pub pings: AtomicUsize,
    pub closes: AtomicUsize,
    pub cancels: AtomicUsize,
    pub running: AtomicUsize,
    pub received: Mutex<Vec<(usize, String)>>,
    pub interrupted: Mutex<Vec<(usize, String)>>,
}

impl Server {
    pub fn new(on_cancel: OnCancel) -> Arc<Server> {
        Server::with_cancel_delay(on_cancel, Duration::ZERO)
    }

    /// A server whose stop requests take `cancel_delay` to arrive.
    pub fn with_cancel_delay(on_cancel: OnCancel, cancel_delay: Duration) -> Arc<Server> {
        Arc::new(Server {
            on_cancel,
            cancel_delay,
            commit_millis: AtomicU64::new(0),
            cancel_tail_millis: AtomicU64::new(0),
            lose_cancels: AtomicUsize::new(0),
            hang_cancels: AtomicUsize::new(0),
            refuse_connects: AtomicUsize::new(0),
            connect_millis: AtomicU64::new(0),
            killed: Mutex::new(Vec::new()),
            dropped: Mutex::new(Vec::new()),
            connects: AtomicUsize::new(0),
            pings: AtomicUsize::new(0),
            closes: AtomicUsize::new(0),
            cancels: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            interrupted: Mutex::new(Vec::new()),
        })
    }

    /// A pool whose callers wait for every stop to be settled (`stop_wait` = the grace),
    /// so each outcome asserted is final.
    pub fn pool(self: &Arc<Server>, max_connections: usize) -> Pool<FakeDriver> {
        self.pool_with(PoolOptions {
            max_connections,
            cancel_grace: Duration::from_secs(1),
            stop_wait: Duration::from_secs(1),
            ..PoolOptions::default()
        })
    }

    pub fn pool_with(self: &Arc<Server>, options: PoolOptions) -> Pool<FakeDriver> {
        Pool::new(FakeDriver::new(self), options).expect("valid pool options")
    }

    pub fn count(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }

    pub fn statements(&self) -> Vec<String> {
        let received = self.received.lock().expect("server log");
        received.iter().map(|(_, sql)| sql.clone()).collect()
    }

    /// The session each received statement ran on, in order.
    pub fn sessions(&self) -> Vec<usize> {
        let received = self.received.lock().expect("server log");
        received.iter().map(|(session, _)| *session).collect()
    }

    /// Closes a session from the server's side, as `pg_terminate_backend` would.
    pub fn kill(&self, session: usize) {
        self.killed.lock().expect("server state").push(session);
    }

    /// Closes a session from the server's side without the client noticing until it next
    /// writes, as MariaDB does to an idle session it kills or times out.
    pub fn drop_silently(&self, session: usize) {
        self.dropped.lock().expect("server state").push(session);
    }

    /// Whether `session` was dropped silently; the client now knows it is closed.
    fn found_dropped(&self, session: usize) -> bool {
        let mut dropped = self.dropped.lock().expect("server state");
        let Some(at) = dropped.iter().position(|&id| id == session) else {
            return false;
        };
        dropped.remove(at);
        drop(dropped);
        self.kill(session);
        true
    }

    pub fn interrupted(&self) -> Vec<(usize, String)> {
        self.interrupted.lock().expect("server log").clone()
    }
}

pub struct FakeDriver(Arc<Server>);

impl FakeDriver {
    pub fn new(server: &Arc<Server>) -> FakeDriver {
        FakeDriver(Arc::clone(server))
    }
}

impl Driver for FakeDriver {
    type Connection = FakeConnection;
    type QueryBuilder = PostgresQueryBuilder;
    const INSERT_RETURNING: bool = true;
    const MAX_PARAMETERS: usize = u16::MAX as usize;
    const STOPPED_COMMIT_ROLLS_BACK: bool = false;

    async fn connect(&self, _: &Ctx) -> Result<FakeConnection> {
        let connecting = self.0.connect_millis.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(connecting)).await;
        let refused =
            self.0
                .refuse_connects
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refused.is_ok() {
            return Err(Error::connection("connection refused", None));
        }
        let id = self.0.connects.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(FakeConnection {
            id,
            server: Arc::clone(&self.0),
            session: Arc::new(Session::default()),
        })
    }
}

#[derive(Debug, Default)]
struct Session {
    /// A statement is running: a stop request that arrives while none runs is discarded,
    /// as PostgreSQL discards a cancel that reaches an idle backend and MariaDB clears a
    /// kill flag when the next statement starts. One that arrives while a statement runs,
    /// and is not consumed by it, hits whatever runs next.
    busy: AtomicBool,
    pending_cancel: AtomicBool,
    wake: Notify,
}

pub struct FakeConnection {
    id: usize,
    server: Arc<Server>,
    session: Arc<Session>,
}

impl Drop for FakeConnection {
    fn drop(&mut self) {
        self.server.closes.fetch_add(1, Ordering::SeqCst);
    }
}

fn interrupted(kind: DatabaseErrorKind) -> Error {
    DatabaseError::new("57014", "canceling statement")
        .with_kind(kind)
        .into()
}

/// Decrements the server's running count, and marks the session idle, however the
/// statement ends, dropped included.
struct Running<'a>(&'a Server, &'a Session);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.1.busy.store(false, Ordering::SeqCst);
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl FakeConnection {
    async fn run(&self, sql: &str) -> Result<usize> {
        let server = &self.server;
        if server.found_dropped(self.id) {
            return Err(Error::unsent("broken pipe", None));
        }
        server
            .received
            .lock()
            .expect("server log")
            .push((self.id, sql.to_owned()));
        server.running.fetch_add(1, Ordering::SeqCst);
        let _running = Running(server, &self.session);
        self.session.busy.store(true, Ordering::SeqCst);
        let result = self.statement(sql).await;
        if let Err(error) = &result
            && error
                .as_database_error()
                .is_some_and(|e| e.code() == "57014")
        {
            let mut log = server.interrupted.lock().expect("server log");
            log.push((self.id, sql.to_owned()));
        }
        result
    }

    async fn statement(&self, sql: &str) -> Result<usize> {
        let stoppable = matches!(
            self.server.on_cancel,
            OnCancel::Stop | OnCancel::StopByTimer
        );
        let stop_kind = match self.server.on_cancel {
            OnCancel::StopByTimer => DatabaseErrorKind::StatementTimeout,
            _ => DatabaseErrorKind::Interrupted,
        };
        // A stop request left over from earlier hits whatever runs next.
        if self.session.pending_cancel.swap(false, Ordering::SeqCst) {
            return Err(interrupted(stop_kind));
        }
        let (command, number) = sql.split_once(' ').unwrap_or((sql, "0"));
        let number: u64 = number.parse().expect("a number");
        let millis = match command {
            "rows" => return Ok(number as usize),
            "BEGIN" | "ROLLBACK" => return Ok(0),
            "lose" => return Err(Error::connection("the server went away", None)),
            "COMMIT" => self.server.commit_millis.load(Ordering::SeqCst),
            "sleep" | "timeout" | "fail" => number,
            other => panic!("the double does not know {other:?}"),
        };
        let mut timer = pin!(tokio::time::sleep(Duration::from_millis(millis)));
        loop {
            let mut woken = pin!(self.session.wake.notified());
            woken.as_mut().enable();
            if stoppable && self.session.pending_cancel.swap(false, Ordering::SeqCst) {
                return Err(interrupted(stop_kind));
            }
            tokio::select! {
                () = timer.as_mut() => break,
                () = woken => {}
            }
        }
        match command {
            "timeout" => Err(interrupted(DatabaseErrorKind::StatementTimeout)),
            "fail" => Err(DatabaseError::new("42601", "syntax error").into()),
            _ => Ok(0),
        }
    }
}

impl FakeConnection {
    /// `flood`: rows as fast as they are read, until a stop request ends the statement
    /// with the "interrupted" error. Every row is ready at once, as on a socket full of
    /// them: nothing in it ever waits.
    fn flood(&self) -> impl Stream<Item = Result<FakeRow>> + Send + '_ {
        let server = &self.server;
        server
            .received
            .lock()
            .expect("server log")
            .push((self.id, "flood".to_owned()));
        server.running.fetch_add(1, Ordering::SeqCst);
        self.session.busy.store(true, Ordering::SeqCst);
        let running = Running(server, &self.session);
        stream::unfold(Some((0, running)), move |flooding| async move {
            let (row, running) = flooding?;
            if self.session.pending_cancel.swap(false, Ordering::SeqCst) {
                drop(running);
                let mut log = server.interrupted.lock().expect("server log");
                log.push((self.id, "flood".to_owned()));
                return Some((Err(interrupted(DatabaseErrorKind::Interrupted)), None));
            }
            Some((Ok(FakeRow(row)), Some((row + 1, running))))
        })
    }
}

impl Connection for FakeConnection {
    type Canceller = FakeCanceller;
    type Row = FakeRow;

    fn canceller(&self) -> FakeCanceller {
        FakeCanceller {
            server: Arc::clone(&self.server),
            session: Arc::clone(&self.session),
        }
    }

    fn is_closed(&self) -> bool {
        self.server
            .killed
            .lock()
            .expect("server state")
            .contains(&self.id)
    }

    async fn ping(&mut self) -> Result<()> {
        self.server.pings.fetch_add(1, Ordering::SeqCst);
        if self.server.found_dropped(self.id) || self.is_closed() {
            return Err(Error::connection("the server closed the session", None));
        }
        Ok(())
    }

    async fn execute(&mut self, _: &Ctx, sql: &str, _: &Values) -> Result<Executed> {
        let rows = self.run(sql).await?;
        Ok(Executed {
            rows_affected: rows as u64,
            last_insert_id: None,
        })
    }

    fn fetch_stream<'c>(
        &'c mut self,
        _: &'c Ctx,
        sql: &'c str,
        _: &'c Values,
    ) -> impl Stream<Item = Result<FakeRow>> + Send + 'c {
        if sql == "flood" {
            return Either::Left(self.flood());
        }
        let rows = async move {
            let rows = self.run(sql).await?;
            Ok(stream::iter((0..rows).map(|row| Ok(FakeRow(row)))))
        };
        Either::Right(rows.try_flatten_stream())
    }
}

/// One column: the row's position in its result.
#[derive(Debug, PartialEq)]
pub struct FakeRow(pub usize);

impl Row for FakeRow {
    fn column_name(&self, _: ColumnRef<'_>) -> Option<&str> {
        None
    }
}

/// The double's rows are read whole (as [`FakeRow`]), never column by column.
macro_rules! no_columns {
    ($($t:ty),*) => {$(
        impl Decodes<$t> for FakeRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<$t> {
                Err(Error::decode(column, std::any::type_name::<$t>(), "the double's rows have no columns"))
            }
        }

        impl Decodes<Option<$t>> for FakeRow {
            fn decode(&self, column: ColumnRef<'_>) -> Result<Option<$t>> {
                Err(Error::decode(column, std::any::type_name::<$t>(), "the double's rows have no columns"))
            }
        }
    )*};
}

tethered_core::column_types!(no_columns);

impl FromRow<FakeRow> for FakeRow {
    fn from_row(row: FakeRow) -> Result<FakeRow> {
        Ok(row)
    }
}

#[derive(Clone)]
pub struct FakeCanceller {
    server: Arc<Server>,
    session: Arc<Session>,
}

impl Canceller for FakeCanceller {
    async fn cancel(&self) -> Result<()> {
        self.server.cancels.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.server.cancel_delay).await;
        match self.server.on_cancel {
            OnCancel::Refuse => return Err(Error::connection("cancel refused", None)),
            OnCancel::Hang => std::future::pending::<()>().await,
            _ => {}
        }
        let hangs =
            self.server
                .hang_cancels
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if hangs.is_ok() {
            std::future::pending::<()>().await;
        }
        let lost = self
            .server
            .lose_cancels
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if lost.is_ok() || !self.session.busy.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.session.pending_cancel.store(true, Ordering::SeqCst);
        self.session.wake.notify_waiters();
        let tail = self.server.cancel_tail_millis.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(tail)).await;
        Ok(())
    }
}
