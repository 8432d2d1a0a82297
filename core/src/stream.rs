//! Rows read as the server sends them, under the same protocol as every statement.
//!
//! A streamed statement flies like any other (see `protocol`): its landing owns the
//! connection until the statement has ended. The landing ([`Pour::pour`]) reads the
//! driver's rows and leaves them in a [`Mailbox`] of [`BATCH`] rows; once it is full, the
//! landing waits until the reader has taken them. So at most two batches are between the
//! driver and the reader (the mailbox's, and the one the reader is handing out), and a
//! reader that stops reading stops the landing, whose driver stops reading the socket:
//! memory stays bounded by a few rows whatever the result's size, and the server feels the
//! back-pressure.
//!
//! The reader ([`RowStream`]) runs the statement's future itself, from `poll_next`, when it
//! has no row left, and then takes the batch it left: nothing is spawned, and nothing runs
//! while nobody reads. The batch amortises the cost of polling the statement's future (the
//! protocol's `select!`, the context's timer) over its rows. The reader checks the context
//! before it hands out each row: once the context has ended it hands out no more, and polls
//! the statement's future, whose protocol then sees the context ended and stops the
//! statement.
//!
//! When the rows are no longer wanted (the stream is dropped, or its context ended and the
//! statement went to the stop task) the mailbox closes, and the landing reads on alone,
//! discarding, until the statement ends: the stop task keeps the connection only when the
//! statement ended with the server's "interrupted" error, and that error comes after every
//! row the server had already sent.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::marker::PhantomData;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_util::stream::FusedStream;
use futures_util::{Stream, StreamExt};

use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Connection, Driver};
use crate::error::{Error, Result, StatementOutcome};
use crate::row::{FromRow, Row};
use crate::sql::Sql;

type RowOf<D> = <<D as Driver>::Connection as Connection>::Row;

/// The rows of one statement, in the order the server sends them, each as the backend's row
/// ([`Executor::fetch`](crate::Executor::fetch) decodes them into your type).
///
/// Nothing is sent until the stream is first polled: a connection is checked out then (for a
/// stream on a pool), under the context the stream was made with. After that the stream
/// follows the cancellation protocol of
/// [`PoolConnection::run`](crate::PoolConnection::run), between every two rows:
///
/// - The context ending mid-stream stops the statement on the server; the stream yields
///   [`Error::Canceled`](crate::Error::Canceled) with the cause and what became of the
///   statement, then ends. No row is yielded once the statement has been given up.
/// - An error from the statement is yielded, and the stream ends.
/// - Dropping the stream before its end stops the statement on the server, in the
///   background, as dropping any statement's future does; the connection is reused only once
///   the server has confirmed the stop (a later statement on the same connection waits for
///   that, within its own context).
///
/// Memory holds a few rows between the driver and the reader (two batches of 32 at most),
/// whatever the result's size; while nobody polls, the statement waits, and so does the
/// server.
///
/// Polling is cancel safe: a `next()` dropped before it completes loses no row.
#[must_use = "a stream does nothing unless polled"]
pub struct RowStream<'e, D: Driver> {
    /// The statement's context, checked before each row is handed out.
    ctx: Ctx,
    mailbox: Arc<Mailbox<RowOf<D>>>,
    /// The rows taken from the mailbox, handed out one by one.
    taken: VecDeque<RowOf<D>>,
    /// The statement under the protocol (a checkout first, for a stream on a pool); `None`
    /// once it has ended.
    statement: Option<BoxFuture<'e, Result<()>>>,
    /// What ended the statement, once its last rows have been handed out.
    failure: Option<Error>,
}

impl<'e, D: Driver> RowStream<'e, D> {
    /// A stream under `ctx` whose statement is `start`ed with the landing's end of the
    /// mailbox.
    pub(crate) fn new<F>(ctx: Ctx, start: impl FnOnce(Pour<D>) -> F) -> RowStream<'e, D>
    where
        F: Future<Output = Result<()>> + Send + 'e,
    {
        let mailbox = Arc::new(Mailbox::new());
        let statement = start(Pour {
            mailbox: Arc::clone(&mailbox),
        });
        RowStream {
            ctx,
            mailbox,
            taken: VecDeque::with_capacity(BATCH),
            statement: Some(Box::pin(statement)),
            failure: None,
        }
    }
}

impl<D: Driver> Stream for RowStream<'_, D> {
    type Item = Result<RowOf<D>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if !this.taken.is_empty() {
                match this.ctx.cause() {
                    None => return Poll::Ready(this.taken.pop_front().map(Ok)),
                    // Ended: no more rows. A statement still running sees it too, when its
                    // future is polled next, and is stopped; one that had ended by itself
                    // completed.
                    Some(cause) => {
                        this.taken.clear();
                        if this.statement.is_none() && this.failure.is_none() {
                            this.failure = Some(Error::Canceled {
                                cause,
                                outcome: StatementOutcome::Completed,
                            });
                        }
                    }
                }
            }
            let Some(statement) = this.statement.as_mut() else {
                return Poll::Ready(this.failure.take().map(Err));
            };
            let ended = statement.as_mut().poll(cx);
            // Rows first: those the landing left before the statement ended come before
            // its end.
            this.mailbox.take_into(&mut this.taken);
            match ended {
                Poll::Ready(ended) => {
                    this.statement = None;
                    this.failure = ended.err();
                }
                Poll::Pending if this.taken.is_empty() => return Poll::Pending,
                Poll::Pending => {}
            }
        }
    }
}

// Nothing in it is pinned in place: the statement's future is boxed, and the rows are
// plain values, moved in and out.
impl<D: Driver> Unpin for RowStream<'_, D> {}

impl<D: Driver> FusedStream for RowStream<'_, D> {
    fn is_terminated(&self) -> bool {
        self.statement.is_none() && self.taken.is_empty() && self.failure.is_none()
    }
}

impl<D: Driver> Drop for RowStream<'_, D> {
    fn drop(&mut self) {
        // Before the statement's future drops and hands the statement to the stop task:
        // from there the landing must read on alone.
        self.mailbox.close();
    }
}

impl<D: Driver> std::fmt::Debug for RowStream<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("ended", &self.statement.is_none())
            .field("rows_taken", &self.taken.len())
            .finish_non_exhaustive()
    }
}

/// A stream of rows decoded into `T` as they arrive: what
/// [`Executor::fetch`](crate::Executor::fetch) and [`Select::stream`](crate::Select::stream)
/// return. It behaves as the [`RowStream`] it decodes (the protocol, dropping, memory).
///
/// A row that does not decode yields its [`Error::Decode`](crate::Error::Decode) and the
/// stream goes on; stop reading (drop the stream) to stop the statement.
#[must_use = "a stream does nothing unless polled"]
pub struct Fetch<S, T> {
    rows: S,
    decoded: PhantomData<fn() -> T>,
}

impl<S, T> Fetch<S, T> {
    pub(crate) fn new(rows: S) -> Fetch<S, T> {
        Fetch {
            rows,
            decoded: PhantomData,
        }
    }
}

impl<S, R, T> Stream for Fetch<S, T>
where
    S: Stream<Item = Result<R>> + Unpin,
    R: Row,
    T: FromRow<R>,
{
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<T>>> {
        self.rows
            .poll_next_unpin(cx)
            .map(|row| row.map(|row| row.and_then(T::from_row)))
    }
}

impl<S, R, T> FusedStream for Fetch<S, T>
where
    S: FusedStream<Item = Result<R>> + Unpin,
    R: Row,
    T: FromRow<R>,
{
    fn is_terminated(&self) -> bool {
        self.rows.is_terminated()
    }
}

impl<S: std::fmt::Debug, T> std::fmt::Debug for Fetch<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetch")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// The landing's end of a stream's mailbox: what a streamed statement delivers its rows to.
pub(crate) struct Pour<D: Driver> {
    mailbox: Arc<Mailbox<RowOf<D>>>,
}

impl<D: Driver> Clone for Pour<D> {
    fn clone(&self) -> Pour<D> {
        Pour {
            mailbox: Arc::clone(&self.mailbox),
        }
    }
}

impl<D: Driver> Pour<D> {
    /// Runs `sql` on `connection` and delivers its rows to the reader; once nobody reads,
    /// discards the rest. Returns once the statement has ended, its rows, and then its
    /// outcome, all read: how many rows the server returned.
    pub(crate) async fn pour(
        &self,
        connection: &mut D::Connection,
        ctx: &Ctx,
        sql: &Sql,
    ) -> Result<u64> {
        let mut rows = pin!(connection.fetch_stream(ctx, sql.text(), sql.values()));
        let mut read = true;
        let mut returned: u64 = 0;
        loop {
            let row = match rows.next().await {
                None => return Ok(returned),
                Some(Err(error)) => return Err(error),
                Some(Ok(row)) => row,
            };
            returned += 1;
            if read {
                read = self.mailbox.deliver(row).await;
            } else {
                // Discarding, the landing would never wait on rows a driver has ready (a
                // buffer full of them), and the stop task polling it would never get to
                // send its request: a row costs a unit of the task's budget, and once
                // that is spent the landing yields.
                tokio::task::consume_budget().await;
            }
        }
    }

    /// Tells the landing nobody reads anymore: it discards the rest of the rows.
    pub(crate) fn abandon(&self) {
        self.mailbox.close();
    }
}

/// How many rows the mailbox holds before the landing waits for the reader.
const BATCH: usize = 32;

/// Rows on their way from a statement's landing to its reader.
struct Mailbox<R> {
    inbox: Mutex<Inbox<R>>,
}

struct Inbox<R> {
    rows: VecDeque<R>,
    /// Nobody reads anymore.
    closed: bool,
    /// The landing waiting for its row to be taken.
    landing: Option<Waker>,
}

impl<R> Mailbox<R> {
    fn new() -> Mailbox<R> {
        Mailbox {
            inbox: Mutex::new(Inbox {
                rows: VecDeque::with_capacity(BATCH),
                closed: false,
                landing: None,
            }),
        }
    }

    fn inbox(&self) -> MutexGuard<'_, Inbox<R>> {
        // Nothing is left half-done under the lock.
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leaves `row` for the reader, and once the mailbox is full waits until the reader
    /// has taken its rows: `true`, or `false` (and the rows dropped) once nobody reads
    /// anymore.
    async fn deliver(&self, row: R) -> bool {
        {
            let mut inbox = self.inbox();
            if inbox.closed {
                return false;
            }
            inbox.rows.push_back(row);
            if inbox.rows.len() < BATCH {
                return true;
            }
        }
        poll_fn(|cx| {
            let mut inbox = self.inbox();
            if inbox.closed {
                return Poll::Ready(false);
            }
            if inbox.rows.is_empty() {
                return Poll::Ready(true);
            }
            // `close` wakes the landing. `take_into` does not need to: the reader takes
            // rows only after polling the landing, and polls it again for more.
            if !inbox
                .landing
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                inbox.landing = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Moves the rows waiting (never any once closed) to the end of `taken`.
    fn take_into(&self, taken: &mut VecDeque<R>) {
        taken.append(&mut self.inbox().rows);
    }

    /// Nobody reads anymore: the rows waiting are dropped, and the landing woken to read
    /// on.
    fn close(&self) {
        let (rows, landing) = {
            let mut inbox = self.inbox();
            inbox.closed = true;
            (std::mem::take(&mut inbox.rows), inbox.landing.take())
        };
        drop(rows);
        if let Some(landing) = landing {
            landing.wake();
        }
    }
}
