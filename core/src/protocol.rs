//! The cancellation protocol for one statement on one connection (DESIGN.md), written once
//! for every backend.
//!
//! A statement in flight owns its connection, marked not reusable: if it is ever dropped
//! before it ends, the connection is closed, never returned to the pool with a statement
//! (or a stop request) still running on it. When the context ends first, or the caller
//! drops the statement's future, a spawned task takes it over ([`Flight::abort`]): it asks
//! the server to stop the statement, waits a bounded grace period for the statement to end,
//! keeps the connection only if the server confirms it consumed the stop, and reports to
//! the connection's slot.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument as _, Span};

use crate::cause::Cause;
use crate::connection::Slot;
use crate::driver::{Canceller as _, Connection, Driver};
use crate::error::{DatabaseErrorKind, Error, Result, StatementOutcome};
use crate::observe::OnBoard;
use crate::pool::Pooled;

/// How a stop ended: what the caller is told, and the connection if it is clean.
pub(crate) struct StopReport<D: Driver> {
    pub(crate) outcome: Result<StatementOutcome>,
    pub(crate) object: Option<Pooled<D>>,
}

type Canceller<D> = <<D as Driver>::Connection as Connection>::Canceller;

/// A statement on its way, holding its connection's slot. Dropped before it lands, it
/// hands itself to a task that stops it, and leaves the slot waiting for that task's
/// report.
pub(crate) struct Flight<'s, D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Pooled<D>, Result<T>)> + Send + 'static,
{
    slot: &'s mut Slot<D>,
    in_air: Option<InAir<D, L>>,
    output: PhantomData<fn() -> T>,
}

struct InAir<D: Driver, L> {
    // First: off the board before the landing drops and gives its connection back.
    on_board: OnBoard,
    landing: Pin<Box<L>>,
    canceller: Canceller<D>,
    grace: Duration,
    /// The statement's span, which a stop's span follows from.
    span: Span,
}

impl<'s, D, T, L> Flight<'s, D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Pooled<D>, Result<T>)> + Send + 'static,
{
    /// `landing` runs the statement and gives back its connection; `slot` is where the
    /// connection goes once the statement has ended. The statement stays `on_board` until
    /// it has ended, and a stop's span follows from its `span`.
    pub(crate) fn new(
        slot: &'s mut Slot<D>,
        landing: L,
        canceller: Canceller<D>,
        grace: Duration,
        on_board: OnBoard,
        span: Span,
    ) -> Flight<'s, D, T, L> {
        Flight {
            slot,
            in_air: Some(InAir {
                on_board,
                landing: Box::pin(landing),
                canceller,
                grace,
                span,
            }),
            output: PhantomData,
        }
    }

    /// Waits for the statement to end by itself. Cancel safe: the statement stays in
    /// flight. `None` once it has landed or been aborted.
    pub(crate) async fn land(&mut self) -> Option<(Pooled<D>, Result<T>)> {
        let landed = self.in_air.as_mut()?.landing.as_mut().await;
        self.in_air = None;
        Some(landed)
    }

    /// Puts what the landed statement left into the slot.
    pub(crate) fn settle(&mut self, slot: Slot<D>) {
        *self.slot = slot;
    }

    /// Hands the statement to a task that stops it; the slot waits for its report. `cause`
    /// is why its context ended; `None`: its future was dropped.
    pub(crate) fn abort(&mut self, cause: Option<&Cause>) {
        let Some(in_air) = self.in_air.take() else {
            return;
        };
        // Without a runtime (it is shutting down) nothing can be sent: dropping the
        // statement closes its connection, which is the safe end.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (report, stopping) = oneshot::channel();
        *self.slot = Slot::Stopping(stopping);
        let cause = cause.cloned();
        runtime.spawn(async move {
            let InAir {
                on_board,
                landing,
                canceller,
                grace,
                span,
            } = in_air;
            on_board.stopping();
            let observer = on_board.observer();
            let stop_span = observer.stop_span(&span, cause.as_ref());
            let began = Instant::now();
            let stopped = stop(landing, &canceller, grace)
                .instrument(stop_span.clone())
                .await;
            let outcome = stopped.outcome.as_ref().ok().copied();
            let kept = stopped.object.is_some();
            observer.stopped(&stop_span, cause.as_ref(), outcome, kept, began.elapsed());
            drop(on_board);
            // Nobody waiting: a clean connection goes back to the pool as it drops.
            let _ = report.send(stopped);
        });
    }
}

impl<D, T, L> Drop for Flight<'_, D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Pooled<D>, Result<T>)> + Send + 'static,
{
    fn drop(&mut self) {
        self.abort(None);
    }
}

/// How long after a stop request was answered the next one goes out, at first, if the
/// statement is still running; each later pause doubles, up to [`ASK_AGAIN_AT_MOST`].
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(20);

/// The longest pause between an answer and the next stop request.
const ASK_AGAIN_AT_MOST: Duration = Duration::from_millis(250);

/// How long a stop request may go unanswered before another is sent beside it, over a new
/// connection: over a stalled link (a kill line on a frozen path) it may never be. Long
/// enough not to double a MariaDB `KILL` that is only waiting on its statement.
const UNANSWERED: Duration = Duration::from_secs(1);

/// How many stop requests may be unanswered at once.
const REQUESTS_AT_ONCE: usize = 3;

/// Asks the server to stop the statement until it has ended, at most `grace` in all.
///
/// One request is not enough. A server discards one that reaches the session before or
/// between the statement's commands: PostgreSQL drops a CancelRequest that reaches a
/// backend waiting for the client's next protocol message (between a statement's prepare
/// and its execute, say), and MariaDB clears a kill flag when the next command starts, so
/// a `KILL QUERY` processed before the statement's own command has been read is lost. So
/// while the statement runs the request is sent again, one at a time: after each answer,
/// following a pause that backs off, and beside one still unanswered after
/// [`UNANSWERED`]. (Not faster: a second `KILL` of a statement MariaDB is still waking
/// waits on it again.)
///
/// The connection is kept only when the statement ended with the server's "interrupted"
/// error and every request sent has completed: that proves each request was consumed and
/// nothing of it can hit a later statement. A statement that ends any other way closes its
/// connection, so the report goes out at once, without waiting for requests in flight (on
/// a starved machine PostgreSQL can take tens of milliseconds to close a cancel socket,
/// while the server's own timer has already stopped the statement).
async fn stop<D, L, T>(
    mut landing: Pin<Box<L>>,
    canceller: &Canceller<D>,
    grace: Duration,
) -> StopReport<D>
where
    D: Driver,
    L: Future<Output = (Pooled<D>, Result<T>)>,
{
    let give_up = Instant::now() + grace;
    let asking = async {
        let mut requests = FuturesUnordered::new();
        let mut every_request_completed = true;
        // The first request goes out at once; the next when it is due.
        requests.push(canceller.cancel());
        let mut next_request = Instant::now() + UNANSWERED;
        let mut pause = ASK_AGAIN_AFTER;
        loop {
            // The requests first: a landing that reads a flood of rows to their end (a
            // stream nobody reads anymore) is always ready, and polled first it would spend
            // the task's whole budget each time, starving the request's own I/O.
            tokio::select! {
                biased;
                Some(sent) = requests.next(), if !requests.is_empty() => {
                    every_request_completed &= sent.is_ok();
                    if requests.is_empty() {
                        next_request = Instant::now() + pause;
                        pause = (pause * 2).min(ASK_AGAIN_AT_MOST);
                    }
                }
                landed = landing.as_mut() => {
                    let interrupted = matches!(
                        &landed.1,
                        Err(error) if server_stop(error) == Some(DatabaseErrorKind::Interrupted)
                    );
                    // Requests still on their way are waited for only if the connection
                    // can be kept once they have completed.
                    let completed = interrupted
                        && every_request_completed
                        && timeout_at(give_up, async {
                            while let Some(sent) = requests.next().await {
                                let sent: Result<()> = sent;
                                if sent.is_err() {
                                    return false;
                                }
                            }
                            true
                        })
                        .await
                        .unwrap_or(false);
                    return (landed, completed);
                }
                () = tokio::time::sleep_until(next_request), if requests.len() < REQUESTS_AT_ONCE => {
                    requests.push(canceller.cancel());
                    next_request = Instant::now() + UNANSWERED;
                }
            }
        }
    };
    let Ok(((mut object, result), every_request_completed)) = timeout_at(give_up, asking).await
    else {
        // Still running when the grace ran out: dropping it closes the connection.
        return StopReport {
            outcome: Ok(StatementOutcome::Unknown),
            object: None,
        };
    };
    let (outcome, kept) = match result {
        Ok(_) => (Ok(StatementOutcome::Completed), false),
        Err(error) => match server_stop(&error) {
            Some(DatabaseErrorKind::Interrupted) => {
                (Ok(StatementOutcome::Stopped), every_request_completed)
            }
            // Stopped by the server's own timer: ours may still be on its way.
            Some(_) => (Ok(StatementOutcome::Stopped), false),
            None if error.as_database_error().is_some() => (Err(error), false),
            None => (Ok(StatementOutcome::Unknown), false),
        },
    };
    // The driver may know better (a MariaDB statement that outlived its own limit).
    let kept = kept && !object.connection().is_closed();
    object.set_reusable(kept);
    StopReport {
        outcome,
        object: kept.then_some(object),
    }
}

/// The kind of a server error that stopped the statement, if this is one.
pub(crate) fn server_stop(error: &Error) -> Option<DatabaseErrorKind> {
    match error.as_database_error()?.kind() {
        kind @ (DatabaseErrorKind::Interrupted | DatabaseErrorKind::StatementTimeout) => Some(kind),
        _ => None,
    }
}
