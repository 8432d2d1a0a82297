//! A connection checked out of the pool, and every statement run on it under a context.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::Span;

use crate::cause::Cause;
use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Connection, Driver};
use crate::error::{DatabaseErrorKind, Error, Result, StatementOutcome};
use crate::observe::{Observer, OnBoard, Watch};
use crate::pool::Pooled;
use crate::protocol::{Flight, StopReport, server_stop};
use crate::transaction::Transaction;

/// A connection checked out of a [`Pool`](crate::Pool). Dropping it returns the connection
/// to the pool (or, if a statement on it is still being stopped, lets the stop finish
/// first).
pub struct PoolConnection<D: Driver> {
    slot: Slot<D>,
    /// Its pool's: where its statements are described.
    observer: Arc<Observer>,
    cancel_grace: Duration,
    /// How long a caller waits for a stop to settle; `None`: until it has (it settles
    /// within the cancel grace).
    stop_wait: Option<Duration>,
}

/// Where a [`PoolConnection`]'s connection is.
pub(crate) enum Slot<D: Driver> {
    Ready(Pooled<D>),
    /// An abandoned statement is being stopped; its report arrives here.
    Stopping(oneshot::Receiver<StopReport<D>>),
    /// The connection had to be closed (or is out on a statement).
    Closed,
}

impl<D: Driver> Slot<D> {
    fn after(object: Option<Pooled<D>>) -> Slot<D> {
        object.map_or(Slot::Closed, Slot::Ready)
    }
}

impl<D: Driver> PoolConnection<D> {
    /// `cancel_grace` and `stop_wait` are the pool's ([`PoolOptions`](crate::PoolOptions)).
    pub(crate) fn new(
        object: Pooled<D>,
        observer: Arc<Observer>,
        cancel_grace: Duration,
        stop_wait: Duration,
    ) -> PoolConnection<D> {
        PoolConnection {
            slot: Slot::Ready(object),
            observer,
            cancel_grace,
            stop_wait: (stop_wait < cancel_grace).then_some(stop_wait),
        }
    }

    /// Runs one operation on the connection under `ctx`: the cancellation protocol of
    /// DESIGN.md, for every backend.
    ///
    /// - A context that has already ended sends nothing: [`Error::Canceled`] with
    ///   [`StatementOutcome::NotSent`].
    /// - While `operation` runs it is raced against `ctx`. If `ctx` ends first, the server
    ///   is asked to stop the statement (again and again, until it has ended or the pool's
    ///   cancel grace has passed), and the call returns with the cause and what became of
    ///   the statement as soon as the server confirms, or after the pool's `stop_wait` with
    ///   [`StatementOutcome::Stopping`]: the caller gets control back at its deadline
    ///   whatever the server or the network does, and the stop goes on in the background.
    ///   The connection is kept only if the server confirmed the stop.
    /// - A server-side statement timeout (set from the context's deadline) is reported as
    ///   the context's cause with [`StatementOutcome::Stopped`].
    /// - A statement that fails with [`Error::Connection`], or after which the driver
    ///   reports the connection closed, closes the connection.
    ///
    /// Cancel safe in the way that matters: dropping the future hands the statement to a
    /// background task that stops it on the server; the next operation on this connection
    /// waits (within its own context) for that to settle.
    pub async fn run<T, F>(&mut self, ctx: &Ctx, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut D::Connection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.fly(
            ctx,
            NoText,
            |mut object, NoText, _| async move {
                let result = operation(object.connection()).await;
                (object, result)
            },
            || {},
        )
        .await
    }

    /// [`PoolConnection::run`] for `statement`, given how to build its landing: a future
    /// that owns the connection (and the statement, and its span to record what it did)
    /// while the statement runs and gives the connection back with the result. The statement is watched (its span, metrics, the
    /// in-flight board) from start to end, described by its text.
    ///
    /// `abandon` is called when `ctx` ends first, just before the statement goes to the stop
    /// task: whoever waited for the statement's output has let go of it (a stream's reader
    /// takes no more rows), and the landing must be told, to read on to the statement's end
    /// without anyone's help.
    pub(crate) async fn fly<T, S, L>(
        &mut self,
        ctx: &Ctx,
        statement: S,
        landing: impl FnOnce(Pooled<D>, S, Span) -> L,
        abandon: impl FnOnce(),
    ) -> Result<T>
    where
        T: Send + 'static,
        S: StatementText,
        L: Future<Output = (Pooled<D>, Result<T>)> + Send + 'static,
    {
        let watch = self.observer.watch(ctx, statement.text());
        let mut stop_waited = None;
        let result = self
            .fly_watched(ctx, statement, &watch, &mut stop_waited, landing, abandon)
            .await;
        self.observer
            .finish(&watch, result.as_ref().err(), stop_waited);
        result
    }

    /// [`PoolConnection::fly`] under `watch`; `stop_waited` is set to how long the caller
    /// waited for a stop to settle, if it asked for one.
    async fn fly_watched<T, S, L>(
        &mut self,
        ctx: &Ctx,
        statement: S,
        watch: &Watch,
        stop_waited: &mut Option<Duration>,
        landing: impl FnOnce(Pooled<D>, S, Span) -> L,
        abandon: impl FnOnce(),
    ) -> Result<T>
    where
        T: Send + 'static,
        S: StatementText,
        L: Future<Output = (Pooled<D>, Result<T>)> + Send + 'static,
    {
        ctx.check()?;
        let mut object = self.take(ctx).await?;
        let on_board = OnBoard::new(
            &self.observer,
            object.place(),
            ctx,
            statement.text().unwrap_or(""),
            watch.started(),
        );
        let canceller = object.connection().canceller();
        // In flight: dropped before it lands, the connection is closed.
        object.set_reusable(false);
        let mut flight = Flight::new(
            &mut self.slot,
            landing(object, statement, watch.span.clone()),
            canceller,
            self.cancel_grace,
            on_board,
            watch.span.clone(),
        );
        tokio::select! {
            biased;
            Some((mut object, result)) = flight.land() => {
                // A connection that failed as a connection is not trusted again.
                if matches!(result, Err(Error::Connection { .. }))
                    || object.connection().is_closed()
                {
                    flight.settle(Slot::Closed);
                } else {
                    object.set_reusable(true);
                    flight.settle(Slot::Ready(object));
                }
                result.map_err(|error| server_deadline(ctx, error))
            }
            cause = ctx.done() => {
                abandon();
                flight.abort(Some(&cause));
                drop(flight);
                let asked = Instant::now();
                // The stop stays in the slot if it outlasts the wait: the next statement
                // on this connection waits for it, a statement on the pool takes another.
                let settled = match self.stop_wait {
                    Some(wait) => tokio::time::timeout(wait, self.await_stop()).await,
                    None => Ok(self.await_stop().await),
                };
                *stop_waited = Some(asked.elapsed());
                let outcome = settled.unwrap_or(Ok(StatementOutcome::Stopping))?;
                Err(Error::Canceled { cause, outcome })
            }
        }
    }

    /// Starts a transaction on this connection under `ctx`, which becomes the
    /// transaction's context (see [`Transaction`]).
    ///
    /// Cancel safe: dropped, the `BEGIN` is stopped and the connection returned.
    pub async fn begin(self, ctx: &Ctx) -> Result<Transaction<D>> {
        Transaction::begin(self, ctx).await
    }

    /// Closes the connection instead of returning it to the pool. A statement still being
    /// stopped on it is left to finish first.
    pub fn close(mut self) {
        match std::mem::replace(&mut self.slot, Slot::Closed) {
            Slot::Ready(mut object) => object.set_reusable(false),
            Slot::Stopping(stopped) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        if let Ok(StopReport {
                            object: Some(mut object),
                            ..
                        }) = stopped.await
                        {
                            object.set_reusable(false);
                        }
                    });
                }
            }
            Slot::Closed => {}
        }
    }

    pub(crate) fn cancel_grace(&self) -> Duration {
        self.cancel_grace
    }

    /// Takes the connection out of the slot for a statement, first waiting (within `ctx`)
    /// for an abandoned statement's stop to settle.
    async fn take(&mut self, ctx: &Ctx) -> Result<Pooled<D>> {
        if let Slot::Stopping(_) = self.slot {
            // That outcome belonged to the abandoned statement; only the connection matters.
            let _ = ctx.run(self.await_stop()).await?;
        }
        match std::mem::replace(&mut self.slot, Slot::Closed) {
            Slot::Ready(object) => Ok(object),
            _ => Err(Error::connection(
                "this connection was closed: an earlier statement on it lost the \
                 connection or could not be stopped cleanly",
                None,
            )),
        }
    }

    /// Waits for the stop task's report and puts the connection back if it is clean.
    /// Cancel safe: the report stays in the slot.
    async fn await_stop(&mut self) -> Result<StatementOutcome> {
        let Slot::Stopping(stopped) = &mut self.slot else {
            return Ok(StatementOutcome::Unknown);
        };
        match stopped.await {
            Ok(report) => {
                self.slot = Slot::after(report.object);
                report.outcome
            }
            // The task died with its runtime and took the connection with it.
            Err(_) => {
                self.slot = Slot::Closed;
                Ok(StatementOutcome::Unknown)
            }
        }
    }
}

/// What a statement flown by [`PoolConnection::fly`] is, for those who watch it.
pub(crate) trait StatementText: Send + 'static {
    /// Its SQL text (placeholders, never values); `None` for an operation without one.
    fn text(&self) -> Option<&str>;
}

impl StatementText for crate::sql::Sql {
    fn text(&self) -> Option<&str> {
        Some(crate::sql::Sql::text(self))
    }
}

/// An operation without a statement text of its own ([`PoolConnection::run`]).
struct NoText;

impl StatementText for NoText {
    fn text(&self) -> Option<&str> {
        None
    }
}

impl<D: Driver> std::fmt::Debug for PoolConnection<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.slot {
            Slot::Ready(_) => "ready",
            Slot::Stopping(_) => "stopping a statement",
            Slot::Closed => "closed",
        };
        f.debug_struct("PoolConnection")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

/// A statement the server stopped by its own timer, which the backend set from the context's
/// deadline, is the context's deadline firing.
fn server_deadline(ctx: &Ctx, error: Error) -> Error {
    match (server_stop(&error), ctx.deadline()) {
        (Some(DatabaseErrorKind::StatementTimeout), Some(_)) => Error::Canceled {
            cause: ctx.cause().unwrap_or(Cause::DeadlineExceeded),
            outcome: StatementOutcome::Stopped,
        },
        _ => error,
    }
}
