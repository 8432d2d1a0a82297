//! What a backend implements: a driver that opens connections, a connection that executes
//! statements, and a canceller that stops a connection's statement from elsewhere.
//!
//! Backends implement these and nothing more; pooling and the cancellation protocol are
//! core's ([`Pool`](crate::Pool), [`PoolConnection::run`](crate::PoolConnection::run)).

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;
use sea_query::{QueryBuilder, SchemaBuilder, Values};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::observe::Endpoint;
use crate::row::Row;

/// A boxed, sendable future borrowing for `'a`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A database backend: how to open a connection, and how to write SQL for it.
pub trait Driver: Send + Sync + 'static {
    /// The connection this driver opens.
    type Connection: Connection;
    /// The sea-query builder that writes this backend's SQL dialect.
    type QueryBuilder: QueryBuilder + SchemaBuilder + Default;
    /// Whether `INSERT ... RETURNING` gives back the inserted row. Without it, a model
    /// insert reads the row back by its key on the same connection.
    const INSERT_RETURNING: bool;
    /// The most values one statement can bind. A statement with more is refused with
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is sent, and a
    /// model's batch insert is split under it.
    const MAX_PARAMETERS: usize;
    /// Whether a `COMMIT` that the server stopped (it ended with the server's "interrupted"
    /// or statement-timeout error) is known to have rolled back. PostgreSQL takes
    /// interrupts during a commit only before its commit record is written (deferred
    /// triggers and constraints); after that they are held off, and a cancel of a
    /// synchronous-replication wait is only a warning on a commit that succeeds. Where this
    /// is `false`, a stopped commit is reported as [`StatementOutcome::Unknown`].
    ///
    /// [`StatementOutcome::Unknown`]: crate::StatementOutcome::Unknown
    const STOPPED_COMMIT_ROLLS_BACK: bool;

    /// Opens a new connection, for a checkout under `ctx`.
    ///
    /// Core always races this against `ctx`, so it must be cancel safe: dropped part-way,
    /// it must leave nothing behind but a closed socket. A backend that tries several
    /// servers or addresses bounds each attempt by the time `ctx` has left, so one that
    /// does not answer is not waited for past it.
    fn connect(&self, ctx: &Ctx) -> impl Future<Output = Result<Self::Connection>> + Send;

    /// Where this driver's statements go, for their spans and metrics: read once, when a
    /// pool is made. Backends name their system and what they know of the server; the
    /// default is the conventions' `other_sql` with nothing else.
    fn endpoint(&self) -> Endpoint {
        Endpoint::new("other_sql")
    }
}

/// One open connection to the server, used by one statement at a time.
pub trait Connection: Send + 'static {
    /// The handle that stops this connection's running statement.
    type Canceller: Canceller;
    /// A row as the backend returns it.
    type Row: Row;

    /// A handle that can stop this connection's in-flight statement from another task.
    fn canceller(&self) -> Self::Canceller;

    /// Whether the connection is known to be unusable: a closed connection is never handed
    /// out by the pool again.
    fn is_closed(&self) -> bool;

    /// Asks the server whether the session is alive, in one round trip; run by the pool
    /// before it hands out a connection that idled past its `ping_after_idle`. Any error
    /// closes the connection. Core races it against the checkout's context.
    fn ping(&mut self) -> impl Future<Output = Result<()>> + Send;

    /// Executes `sql` with `values` bound to its placeholders; returns what it did.
    ///
    /// `ctx` is the statement's context. The backend does not race it (core does), but
    /// may use its deadline to have the server enforce one too.
    ///
    /// A failure that certainly left the statement unsent (the session was found closed
    /// before sending, or the write of the request failed) is [`Error::unsent`], after
    /// which [`Connection::is_closed`] must be `true`: the pool then sends the statement
    /// once more on another connection.
    ///
    /// [`Error::unsent`]: crate::Error::unsent
    fn execute(
        &mut self,
        ctx: &Ctx,
        sql: &str,
        values: &Values,
    ) -> impl Future<Output = Result<Executed>> + Send;

    /// Runs `sql` with `values` bound and yields its rows as the server sends them, reading
    /// from the driver's own streaming path: memory holds a few rows, whatever the result's
    /// size, and a reader that stops reading stops the socket being read.
    ///
    /// `ctx` is used as in [`Connection::execute`]. The stream ends (`None`) once the
    /// statement has ended well, every result the server sends for it read; an `Err` says
    /// the statement ended with that error, and core reads nothing after it. A failure
    /// before anything was sent is [`Error::unsent`], as for `execute`, and comes first.
    ///
    /// Core always reads the stream to its end, discarding what nobody wants (see
    /// `protocol`: a statement has ended only when its stream has), so a stream dropped
    /// part-way is never a concern of the backend's.
    ///
    /// [`Error::unsent`]: crate::Error::unsent
    fn fetch_stream<'c>(
        &'c mut self,
        ctx: &'c Ctx,
        sql: &'c str,
        values: &'c Values,
    ) -> impl Stream<Item = Result<Self::Row>> + Send + 'c;
}

/// What a statement that returns no rows did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    /// Rows inserted, updated or deleted.
    pub rows_affected: u64,
    /// The auto-increment value the statement generated (MySQL/MariaDB); `None` where
    /// the backend reports none (PostgreSQL: use `RETURNING`).
    pub last_insert_id: Option<u64>,
}

/// Stops a connection's running statement from outside the task running it.
///
/// Cloning gives another handle to the same connection's statements (the pool keeps one
/// per checked-out connection, to stop what still runs when it closes).
pub trait Canceller: Clone + Send + Sync + 'static {
    /// Asks the server to stop whatever statement the connection is running.
    ///
    /// Completes once the server has acted on the request, so that nothing of it can
    /// still arrive later (PostgreSQL signals the backend twice per request; MySQL's
    /// `KILL QUERY` returns once the flag is set). Whether the statement stopped is told by
    /// the statement itself: it ends with the server's "interrupted" error, and only then
    /// does core keep the connection. When the statement ends any other way first, core
    /// drops the request part-way and closes the connection.
    fn cancel(&self) -> impl Future<Output = Result<()>> + Send;
}
