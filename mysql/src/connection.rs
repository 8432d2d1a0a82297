//! One MySQL/MariaDB connection: statements in the text or binary protocol, each carrying
//! the server-side limit derived from its context's deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{Stream, stream};
use mysql_async::prelude::Queryable;
use mysql_async::{BinaryProtocol, Conn, QueryResult, Row, Statement, TextProtocol};
use rustc_hash::FxHashMap;
use tethered_core::sea_query::{Value, Values};
use tethered_core::server_deadline::refuse_managed_setting;
use tethered_core::{Connection, Ctx, Error, Executed, Result};

use crate::bind::params;
use crate::cancel::{KillLines, MyCanceller, ServerIdentity};
use crate::error::{interrupted_before_execution, statement_error, too_large};
use crate::flavour::Flavour;
use crate::row::MyRow;
use crate::single_statement::refuse_several;
use crate::statement_timer::StatementTimer;

/// An open connection, used by one statement at a time.
///
/// A statement with bound values is prepared once per distinct text, limit and connection,
/// and runs in the binary protocol; one without values is sent as text, in one round trip
/// (so `BEGIN`, `COMMIT` and statements MySQL cannot prepare work as they are).
pub struct MyConnection {
    conn: Conn,
    flavour: Flavour,
    /// The server the session is on: its kills must be sent there.
    server: ServerIdentity,
    kill_lines: Arc<KillLines>,
    /// Cancels asked for on this connection, shared with its cancellers.
    cancel_requests: Arc<AtomicU64>,
    /// Set once the connection failed as a connection, or its statement outlived its own
    /// server-side limit: it is not used again.
    broken: bool,
    /// The server-side limit of the statement in flight.
    timer: StatementTimer,
    /// Prepared statements by the caller's text, with the server-side limit each carries.
    /// Looked up by the caller's text, a hit neither formats the limited text again nor
    /// has mysql_async parse it (mysql_async's own cache is off: see the driver).
    statements: FxHashMap<String, Vec<(Option<Duration>, Statement)>>,
    /// How many statements `statements` holds; past [`STATEMENT_CACHE`] it starts over.
    cached: usize,
    /// The server's `max_allowed_packet`, read at connect.
    max_packet: usize,
}

/// Prepared statements kept per connection; past this they are closed and the cache starts
/// over.
const STATEMENT_CACHE: usize = 256;

impl std::fmt::Debug for MyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MyConnection")
            .field("id", &self.conn.id())
            .field("flavour", &self.flavour)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl MyConnection {
    pub(crate) fn new(
        conn: Conn,
        flavour: Flavour,
        server: ServerIdentity,
        max_packet: usize,
        kill_lines: Arc<KillLines>,
    ) -> MyConnection {
        MyConnection {
            conn,
            flavour,
            server,
            kill_lines,
            cancel_requests: Arc::new(AtomicU64::new(0)),
            broken: false,
            timer: StatementTimer::default(),
            statements: FxHashMap::default(),
            cached: 0,
            max_packet,
        }
    }

    /// Refuses what cannot be sent: a statement larger than the server's
    /// `max_allowed_packet` (the server would close the connection, and mysql_async would
    /// report its packets out of sync), or one on a connection already known to be closed
    /// ([`Error::unsent`]: nothing goes out, and the pool sends it on another connection).
    fn check_sendable(&self, sql: &str, values: &Values) -> Result<()> {
        if self.is_closed() {
            return Err(Error::unsent(
                "the connection was closed before the statement was sent",
                None,
            ));
        }
        let size = statement_size(sql, values);
        if size > self.max_packet {
            return Err(too_large(size, self.max_packet));
        }
        Ok(())
    }

    /// Maps a mysql_async outcome, and remembers a connection that failed as one.
    fn settle<T>(&mut self, result: mysql_async::Result<T>) -> Result<T> {
        self.split().1.settle(result)
    }

    /// The prepared statement for `sql` carrying `limit` (from the cache, or prepared
    /// now), refusing a number of values its placeholders do not take before anything runs.
    ///
    /// Preparing takes a round trip of its own when the text is not cached. A kill sent
    /// meanwhile may find the connection idle between the two commands, where the server
    /// clears it as the execute starts: so a statement whose cancel was asked for while
    /// it was being prepared is not executed, and ends as if the server had interrupted it.
    async fn prepare(
        &mut self,
        sql: &str,
        limit: Option<Duration>,
        values: usize,
    ) -> Result<Statement> {
        let cached = self
            .statements
            .get(sql)
            .and_then(|forms| forms.iter().find(|(form, _)| *form == limit))
            .map(|(_, statement)| statement.clone());
        let statement = match cached {
            Some(statement) => statement,
            None => {
                refuse_text(sql)?;
                let cancels_before = self.cancel_requests.load(Ordering::SeqCst);
                let prepared = self.conn.prep(&*self.flavour.limited(sql, limit)).await;
                let statement = self.settle(prepared)?;
                if self.cancel_requests.load(Ordering::SeqCst) != cancels_before {
                    return Err(interrupted_before_execution());
                }
                if self.cached >= STATEMENT_CACHE {
                    self.close_statements().await?;
                }
                self.statements
                    .entry(sql.to_owned())
                    .or_default()
                    .push((limit, statement.clone()));
                self.cached += 1;
                statement
            }
        };
        let placeholders = usize::from(statement.num_params());
        if placeholders != values {
            return Err(Error::InvalidInput(format!(
                "the statement has {placeholders} placeholders but {values} values were bound"
            )));
        }
        Ok(statement)
    }

    /// Sends `sql`, in the text protocol without values and the binary one with them, and
    /// waits for the head of its result.
    async fn start_query<'c>(
        &'c mut self,
        ctx: &Ctx,
        sql: &str,
        values: &Values,
    ) -> Result<Running<'c>> {
        self.check_sendable(sql, values)?;
        let remaining = ctx.remaining();
        let limit = self.flavour.limit(remaining);
        if values.0.is_empty() {
            refuse_text(sql)?;
            let text = self.flavour.limited(sql, limit).into_owned();
            self.timer.started(ctx, remaining, limit);
            let (conn, failures) = self.split();
            let result = conn.query_iter(text).await.map(Protocol::Text);
            Running::new(result, failures)
        } else {
            let params = params(values)?;
            let statement = self.prepare(sql, limit, values.0.len()).await?;
            self.timer.started(ctx, remaining, limit);
            let (conn, failures) = self.split();
            let result = conn
                .exec_iter(statement, params)
                .await
                .map(Protocol::Binary);
            Running::new(result, failures)
        }
    }

    /// The session, apart from where its failures are mapped and recorded: a running
    /// query's result borrows the one while it needs the other.
    fn split(&mut self) -> (&mut Conn, Failures<'_>) {
        let failures = Failures {
            flavour: self.flavour,
            broken: &mut self.broken,
            timer: &mut self.timer,
        };
        (&mut self.conn, failures)
    }

    /// Closes every cached statement on the server and empties the cache.
    async fn close_statements(&mut self) -> Result<()> {
        let statements = std::mem::take(&mut self.statements);
        self.cached = 0;
        for (_, statement) in statements.into_values().flatten() {
            let closed = self.conn.close(statement).await;
            self.settle(closed)?;
        }
        Ok(())
    }
}

/// What a statement and its values take on the wire at least, in bytes: the text, each
/// value's bytes, and a few bytes of framing per value and per command. It must fit in one
/// `max_allowed_packet`, which the server applies to each command and to the values it
/// gathers for one execution alike.
fn statement_size(sql: &str, values: &Values) -> usize {
    /// A command's header, and room for the server-side limit tethered adds to the text.
    const COMMAND: usize = 64;
    /// A value's type, null bit and length prefix.
    const VALUE: usize = 11;
    values.0.iter().fold(sql.len() + COMMAND, |size, value| {
        let bytes = match value {
            Value::String(Some(text)) => text.len(),
            Value::Bytes(Some(bytes)) => bytes.len(),
            _ => 8,
        };
        size.saturating_add(bytes + VALUE)
    })
}

/// Refuses a text tethered cannot send as it is: several statements (the server-side limit
/// would cover only the first), or one setting the limits tethered manages. Checked before
/// a text is sent or prepared, not again for a cached statement.
fn refuse_text(sql: &str) -> Result<()> {
    refuse_several(sql)?;
    refuse_managed_setting(sql, "max_statement_time")?;
    refuse_managed_setting(sql, "max_execution_time")
}

impl Connection for MyConnection {
    type Canceller = MyCanceller;
    type Row = MyRow;

    fn canceller(&self) -> MyCanceller {
        MyCanceller::new(
            self.conn.id(),
            self.server.clone(),
            Arc::clone(&self.kill_lines),
            Arc::clone(&self.cancel_requests),
        )
    }

    fn is_closed(&self) -> bool {
        // mysql_async marks a connection disconnected when an exchange on it failed or
        // was abandoned half-way.
        self.broken || self.conn.is_disconnected() || self.timer.unsettled()
    }

    async fn ping(&mut self) -> Result<()> {
        let answered = self.conn.ping().await;
        self.settle(answered)
    }

    async fn execute(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Executed> {
        self.check_sendable(sql, values)?;
        let remaining = ctx.remaining();
        let limit = self.flavour.limit(remaining);
        let done = if values.0.is_empty() {
            refuse_text(sql)?;
            let text = self.flavour.limited(sql, limit);
            self.timer.started(ctx, remaining, limit);
            self.conn.query_drop(&*text).await
        } else {
            let params = params(values)?;
            let statement = self.prepare(sql, limit, values.0.len()).await?;
            self.timer.started(ctx, remaining, limit);
            self.conn.exec_drop(&statement, params).await
        };
        let mut failures = self.split().1;
        failures.ended();
        failures.settle(done)?;
        Ok(Executed {
            rows_affected: self.conn.affected_rows(),
            last_insert_id: self.conn.last_insert_id(),
        })
    }

    fn fetch_stream<'c>(
        &'c mut self,
        ctx: &'c Ctx,
        sql: &'c str,
        values: &'c Values,
    ) -> impl Stream<Item = Result<MyRow>> + Send + 'c {
        stream::unfold(Query::Starting(self), move |query| async move {
            let mut running = match query {
                Query::Starting(this) => match this.start_query(ctx, sql, values).await {
                    Ok(running) => running,
                    Err(error) => return Some((Err(error), Query::Ended)),
                },
                Query::Reading(running) => running,
                Query::Ended => return None,
            };
            match running.next().await {
                Ok(Some(row)) => Some((Ok(MyRow::new(row)), Query::Reading(running))),
                Ok(None) => None,
                Err(error) => Some((Err(error), Query::Ended)),
            }
        })
    }
}

/// Where a streamed query is.
enum Query<'c> {
    Starting(&'c mut MyConnection),
    Reading(Running<'c>),
    Ended,
}

/// Where a connection's failures are mapped (by its flavour) and recorded, and the end of
/// its statement noted.
struct Failures<'c> {
    flavour: Flavour,
    /// The connection's: set when it failed as a connection.
    broken: &'c mut bool,
    /// The connection's: the server-side limit of the statement in flight.
    timer: &'c mut StatementTimer,
}

impl Failures<'_> {
    /// Maps a mysql_async outcome, and remembers a connection that failed as one.
    fn settle<T>(&mut self, result: mysql_async::Result<T>) -> Result<T> {
        result.map_err(|error| {
            let error = statement_error(error, self.flavour);
            if matches!(error, Error::Connection { .. }) {
                *self.broken = true;
            }
            error
        })
    }

    /// The statement's end has been read: a statement that outlived its own server-side
    /// limit may have left the limit's kill on its way to the next one
    /// ([`crate::statement_timer`]), so the connection is not used again.
    fn ended(&mut self) {
        if !self.timer.ended() {
            *self.broken = true;
        }
    }
}

/// A query whose result the server is sending.
struct Running<'c> {
    result: Protocol<'c>,
    failures: Failures<'c>,
}

/// A query's result, in the protocol the query was sent in.
enum Protocol<'c> {
    Text(QueryResult<'c, 'static, TextProtocol>),
    Binary(QueryResult<'c, 'static, BinaryProtocol>),
}

impl<'c> Running<'c> {
    fn new(
        result: mysql_async::Result<Protocol<'c>>,
        mut failures: Failures<'c>,
    ) -> Result<Running<'c>> {
        if result.is_err() {
            failures.ended();
        }
        let result = failures.settle(result)?;
        Ok(Running { result, failures })
    }

    /// The next row; `None` once the result has ended, every result set after the first
    /// (a procedure's) read and discarded.
    async fn next(&mut self) -> Result<Option<Row>> {
        let row = match self.next_row().await {
            Ok((None, false)) => self.discard_rest().await.map(|()| None),
            row => row.map(|(row, _)| row),
        };
        if !matches!(row, Ok(Some(_))) {
            self.failures.ended();
        }
        self.failures.settle(row)
    }

    /// The next row of the result set being read (`None` at its end), and whether the
    /// result has ended. `QueryResult::next` is what mysql_async's own `for_each` and
    /// `reduce` are built on; its `stream` would box a future per row.
    async fn next_row(&mut self) -> mysql_async::Result<(Option<Row>, bool)> {
        match &mut self.result {
            Protocol::Text(result) => Ok((result.next().await?, result.is_empty())),
            Protocol::Binary(result) => Ok((result.next().await?, result.is_empty())),
        }
    }

    async fn discard_rest(&mut self) -> mysql_async::Result<()> {
        while let (_, false) = self.next_row().await? {}
        Ok(())
    }
}
