//! Tasks tied to a context: spawned from a [`Ctx`], ended when it ends.
//!
//! A task spawned with `tokio::spawn` from a request handler outlives the request unless
//! someone remembers to stop it: Go's leaked goroutine. A [`Task`] cannot: it runs under the
//! context it was spawned from, and when that context ends (its scope cancelled or dropped,
//! its deadline passed) the task's future is dropped, so every statement it has in flight
//! is stopped on the server like any dropped statement.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::task::JoinHandle;

use crate::cause::Cause;
use crate::ctx::Ctx;

/// A task spawned by [`Ctx::spawn`]. Awaiting it gives the task's output, or the cause of
/// the context's end if that came first.
///
/// Dropping the handle detaches it: the task goes on, still bounded by its context.
#[must_use = "a task's handle is how its output (or why it was stopped) is read"]
#[derive(Debug)]
pub struct Task<T> {
    handle: JoinHandle<Result<T, Cause>>,
}

impl Ctx {
    /// Spawns `task` on the current tokio runtime, tied to this context: `task` is given
    /// the context to run its statements under, and when the context ends the task's
    /// future is dropped at once (its statements in flight are stopped on the server in the
    /// background) and the handle reports the cause.
    ///
    /// A context that has already ended spawns a task that does nothing but report the
    /// cause. A task of a root context (one that never ends) is as free as `tokio::spawn`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn<F, Fut>(&self, task: F) -> Task<Fut::Output>
    where
        F: FnOnce(Ctx) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        let ctx = self.clone();
        let future = task(self.clone());
        Task {
            handle: tokio::spawn(async move { ctx.run(future).await }),
        }
    }
}

impl<T> Task<T> {
    /// Whether the task has ended (its output, or its context's end, is ready).
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, Cause>;

    /// Cancel safe: dropping the await leaves the task running under its context.
    ///
    /// # Panics
    ///
    /// If the task panicked, with its panic, as awaiting a `JoinHandle` and unwrapping
    /// would.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match ready!(Pin::new(&mut self.handle).poll(cx)) {
            Ok(output) => Poll::Ready(output),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Aborted only by the runtime shutting down, which ends every context's work.
            Err(_) => Poll::Ready(Err(Cause::Canceled {
                reason: "the runtime shut down".into(),
            })),
        }
    }
}
