//! Running a transaction again when the server rolled it back for a conflict with another
//! one (a deadlock, a serialization failure), within what the context's deadline allows.
//!
//! The server has already undone a transaction it reports so: running the whole of it
//! again is the documented remedy on every backend. Each attempt is a transaction of its
//! own ([`Pool::begin`], the body, [`Transaction::commit`]); another one starts only if
//! the context leaves room for it, judged by the longest attempt so far, so a retry never
//! runs into the deadline it was bound to miss.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Driver};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::transaction::Transaction;

/// The most attempts [`Pool::transaction`] makes; fewer where the context's deadline
/// leaves no room for another.
pub const MAX_TRANSACTION_ATTEMPTS: u32 = 5;

/// The pause before the second attempt; it doubles with each further one.
const FIRST_PAUSE: Duration = Duration::from_millis(5);

/// The longest pause between two attempts.
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

impl<D: Driver> Pool<D> {
    /// Runs `body` in a transaction under `ctx` and commits it; runs the whole of it again
    /// when the server rolled it back for a conflict with another transaction — a deadlock
    /// or a serialization failure ([`Error::is_retryable`]), whether `body` or the commit
    /// met it.
    ///
    /// ```no_run
    /// # use tethered_core as tethered;
    /// # use tethered::{Ctx, Executor, Pool, Result, Driver};
    /// # async fn transfer<D: Driver>(ctx: &Ctx, pool: &Pool<D>) -> Result<()> {
    /// pool.transaction(ctx, |ctx, tx| {
    ///     Box::pin(async move {
    ///         tx.execute(ctx, "UPDATE accounts SET balance = balance - 10 WHERE id = 1").await?;
    ///         tx.execute(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = 2").await?;
    ///         Ok(())
    ///     })
    /// })
    /// .await
    /// # }
    /// ```
    ///
    /// When it runs again:
    ///
    /// - only after a retryable error: any other error (a unique violation, a
    ///   cancellation, a lost connection — a commit whose outcome is unknown among them) is
    ///   returned at once, after rolling back;
    /// - at most [`MAX_TRANSACTION_ATTEMPTS`] times in all, whether or not `ctx` has a
    ///   deadline;
    /// - with a deadline, only while what remains of it exceeds the longest attempt so far
    ///   plus the pause before the next (a few milliseconds, doubling, jittered, at most
    ///   half a second): an attempt that could not finish in time is not started.
    ///
    /// When it gives up on a retryable error, that error is returned with the number of
    /// attempts in [`DatabaseError::attempts`](crate::DatabaseError::attempts) (and in its
    /// message). `body` can count its own runs too: it is called once per attempt.
    ///
    /// `body` gets the context and the attempt's transaction, and returns a boxed future
    /// (`Box::pin(async move { ... })`) that may borrow both; whatever else it needs, it
    /// owns (clone it into each attempt). An error it returns rolls the attempt back and,
    /// if retryable, runs it again; effects outside the database happen once per attempt.
    /// Everything is `Send`, so the future can be spawned.
    ///
    /// Not cancel safe: dropped while `body` runs, the statement in flight is stopped on
    /// the server and the transaction rolled back (in the background, as a dropped
    /// [`Transaction`] is); dropped during the commit, whether it committed is unknown; a
    /// dropped pause between attempts leaves nothing behind.
    pub async fn transaction<T, F>(&self, ctx: &Ctx, mut body: F) -> Result<T>
    where
        T: Send,
        F: for<'t> FnMut(&'t Ctx, &'t mut Transaction<D>) -> BoxFuture<'t, Result<T>> + Send,
    {
        let mut longest = Duration::ZERO;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let started = Instant::now();
            let error = match self.attempt(ctx, &mut body).await {
                Ok(value) => return Ok(value),
                Err(error) if error.is_retryable() => error,
                Err(error) => return Err(error),
            };
            longest = longest.max(started.elapsed());
            let pause = pause_before(attempts + 1);
            let room = ctx
                .remaining()
                .is_none_or(|remaining| remaining > longest + pause);
            if attempts == MAX_TRANSACTION_ATTEMPTS || !room {
                return Err(error.ran(attempts));
            }
            // A context cancelled meanwhile: the attempt's error is still what became of
            // the transaction, and nothing of it stands.
            if ctx.run(tokio::time::sleep(pause)).await.is_err() {
                return Err(error.ran(attempts));
            }
        }
    }

    /// One attempt: begin, `body`, commit; rolled back if `body` fails.
    async fn attempt<T, F>(&self, ctx: &Ctx, body: &mut F) -> Result<T>
    where
        F: for<'t> FnMut(&'t Ctx, &'t mut Transaction<D>) -> BoxFuture<'t, Result<T>>,
    {
        let mut tx = self.begin(ctx).await?;
        match body(ctx, &mut tx).await {
            Ok(value) => tx.commit(ctx).await.map(|()| value),
            Err(error) => {
                // The body's error is the one to report; a rollback that fails closes the
                // connection, which rolls back on the server all the same.
                let _ = tx.rollback(ctx).await;
                Err(error)
            }
        }
    }
}

impl Error {
    /// This retryable error, saying the transaction ran `attempts` times.
    fn ran(self, attempts: u32) -> Error {
        match self {
            Error::Database(database) => (*database).with_attempts(attempts).into(),
            other => other,
        }
    }
}

/// The longest pause before attempt `attempt` (from 2): doubling from [`FIRST_PAUSE`] up
/// to [`LONGEST_PAUSE`].
fn pause_ceiling(attempt: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << attempt.saturating_sub(2).min(16))
        .min(LONGEST_PAUSE)
}

/// The pause before attempt `attempt`: a random part of its [`pause_ceiling`] ("full
/// jitter"), so that transactions that collided once do not start again in step.
fn pause_before(attempt: u32) -> Duration {
    let ceiling = pause_ceiling(attempt);
    // A fresh `RandomState` is randomly keyed: enough randomness for a jitter, without a
    // dependency.
    let random = RandomState::new().hash_one(attempt);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random % nanos.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_a_ceiling_and_are_jittered_below_it() {
        assert_eq!(pause_ceiling(2), FIRST_PAUSE);
        assert_eq!(pause_ceiling(3), FIRST_PAUSE * 2);
        assert_eq!(pause_ceiling(40), LONGEST_PAUSE);
        for attempt in 2..40 {
            assert!(pause_before(attempt) < pause_ceiling(attempt));
        }
        let pauses: std::collections::HashSet<Duration> =
            (0..20).map(|_| pause_before(5)).collect();
        assert!(pauses.len() > 1, "jittered: {pauses:?}");
    }
}
