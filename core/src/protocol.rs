//! The cancellation protocol for one statement on one connection (DESIGN.md), written once
//! for every backend.
//!
//! A statement in flight owns its connection ([`Busy`]): if it is ever dropped before it
//! ends, the connection is closed, never returned to the pool with a statement (or a stop
//! request) still running on it. When the context ends first, or the caller drops the
//! statement's future, a spawned task takes it over ([`Flight::abort`]): it asks the
//! server to stop the statement, waits a bounded grace period for the statement to end,
//! keeps the connection only if the server confirms it consumed the stop, and reports.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};

use crate::driver::{Canceller as _, Connection, Driver};
use crate::error::{DatabaseErrorKind, Error, Result, StatementOutcome};
use crate::pool::Pooled;

/// A pooled connection while a statement may be running on it. Dropped without
/// [`Busy::release`], it closes the connection instead of returning it to the pool.
pub(crate) struct Busy<D: Driver> {
    object: Option<Pooled<D>>,
}

impl<D: Driver> Busy<D> {
    pub(crate) fn new(object: Pooled<D>) -> Busy<D> {
        Busy {
            object: Some(object),
        }
    }

    pub(crate) fn connection(&mut self) -> &mut D::Connection {
        self.object
            .as_deref_mut()
            .expect("a Busy connection is present until released")
    }

    /// The statement has ended cleanly: the connection may be used again.
    pub(crate) fn release(mut self) -> Option<Pooled<D>> {
        self.object.take()
    }
}

impl<D: Driver> Drop for Busy<D> {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            drop(Pooled::<D>::take(object));
        }
    }
}

/// How a stop ended: what the caller is told, and the connection if it is clean.
pub(crate) struct StopReport<D: Driver> {
    pub(crate) outcome: Result<StatementOutcome>,
    pub(crate) object: Option<Pooled<D>>,
}

/// A statement on its way. Dropped before it lands, it hands itself to a task that stops
/// it ([`Flight::abort`]).
pub(crate) struct Flight<D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Busy<D>, Result<T>)> + Send + 'static,
{
    in_air: Option<InAir<D, L>>,
    output: PhantomData<fn() -> T>,
}

struct InAir<D: Driver, L> {
    landing: Pin<Box<L>>,
    canceller: Canceller<D>,
    report: oneshot::Sender<StopReport<D>>,
    grace: Duration,
}

type Canceller<D> = <<D as Driver>::Connection as Connection>::Canceller;

impl<D, T, L> Flight<D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Busy<D>, Result<T>)> + Send + 'static,
{
    /// `landing` runs the statement and gives back its connection; `report` receives the
    /// outcome if the statement has to be stopped.
    pub(crate) fn new(
        landing: L,
        canceller: Canceller<D>,
        report: oneshot::Sender<StopReport<D>>,
        grace: Duration,
    ) -> Flight<D, T, L> {
        Flight {
            in_air: Some(InAir {
                landing: Box::pin(landing),
                canceller,
                report,
                grace,
            }),
            output: PhantomData,
        }
    }

    /// Waits for the statement to end by itself. Cancel safe: the statement stays in
    /// flight. `None` once it has landed or been aborted.
    pub(crate) async fn land(&mut self) -> Option<(Busy<D>, Result<T>)> {
        let landed = self.in_air.as_mut()?.landing.as_mut().await;
        self.in_air = None;
        Some(landed)
    }

    /// Hands the statement to a task that stops it and sends the report.
    pub(crate) fn abort(&mut self) {
        let Some(in_air) = self.in_air.take() else {
            return;
        };
        // Without a runtime (it is shutting down) nothing can be sent: dropping the
        // statement closes its connection, which is the safe end.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let report = stop(in_air.landing, &in_air.canceller, in_air.grace).await;
                // Nobody waiting: a clean connection goes back to the pool as it drops.
                let _ = in_air.report.send(report);
            });
        }
    }
}

impl<D, T, L> Drop for Flight<D, T, L>
where
    D: Driver,
    T: Send + 'static,
    L: Future<Output = (Busy<D>, Result<T>)> + Send + 'static,
{
    fn drop(&mut self) {
        self.abort();
    }
}

/// Asks the server to stop the statement and waits, at most `grace` in all, for it to end.
///
/// The connection is kept only when the statement ended with the server's "interrupted"
/// error, which proves the stop request was consumed and cannot hit a later statement.
async fn stop<D, L, T>(
    mut landing: Pin<Box<L>>,
    canceller: &Canceller<D>,
    grace: Duration,
) -> StopReport<D>
where
    D: Driver,
    L: Future<Output = (Busy<D>, Result<T>)>,
{
    let unknown = || StopReport {
        outcome: Ok(StatementOutcome::Unknown),
        object: None,
    };
    let give_up = Instant::now() + grace;
    if !matches!(timeout_at(give_up, canceller.cancel()).await, Ok(Ok(()))) {
        return unknown();
    }
    let Ok((busy, result)) = timeout_at(give_up, landing.as_mut()).await else {
        return unknown();
    };
    match result {
        Ok(_) => StopReport {
            outcome: Ok(StatementOutcome::Completed),
            object: None,
        },
        Err(error) => match server_stop(&error) {
            Some(DatabaseErrorKind::Interrupted) => StopReport {
                outcome: Ok(StatementOutcome::Stopped),
                object: busy.release(),
            },
            // Stopped by the server's own timer: ours may still be on its way.
            Some(_) => StopReport {
                outcome: Ok(StatementOutcome::Stopped),
                object: None,
            },
            None if error.as_database_error().is_some() => StopReport {
                outcome: Err(error),
                object: None,
            },
            None => unknown(),
        },
    }
}

/// The kind of a server error that stopped the statement, if this is one.
pub(crate) fn server_stop(error: &Error) -> Option<DatabaseErrorKind> {
    match error.as_database_error()?.kind() {
        kind @ (DatabaseErrorKind::Interrupted | DatabaseErrorKind::StatementTimeout) => Some(kind),
        _ => None,
    }
}
