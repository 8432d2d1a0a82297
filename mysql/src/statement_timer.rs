//! The server-side limit of the statement in flight, and whether it can still fire after
//! the statement has ended.
//!
//! MariaDB runs every session's `max_statement_time` on one timer thread. A timer that
//! comes due while its statement is still running is taken off the queue and its callback
//! run; the callback then waits for the session's kill lock, which a `KILL QUERY` of the
//! same statement can hold for up to 2 s (see the crate docs). The statement may end in
//! the meantime (with tethered's 1317), and the callback then sets the session's kill flag
//! on whatever runs next: in the 2,000-trial race test, about one run in 18 saw a later
//! statement, with no limit of its own, end with 1969 ("max_statement_time exceeded").
//! Ending the statement removes its timer from the queue only if the timer has not come
//! due, so a statement whose end was read before its limit could have passed leaves
//! nothing behind, and any other may: its connection is not used again.

use std::time::Duration;

use tethered_core::Ctx;
use tokio::time::Instant;

/// When the server-side limit of the statement in flight can come due, at the earliest,
/// while its end has not been read.
#[derive(Debug, Default)]
pub(crate) struct StatementTimer {
    due: Option<Instant>,
}

impl StatementTimer {
    /// A statement carrying `limit` (from `ctx`'s deadline) is about to be sent.
    ///
    /// The server starts the statement's timer after the statement is sent, so its limit
    /// comes due no earlier than now plus the limit. "Now" is the instant `ctx`'s time left
    /// was read at (its deadline less the time left), earlier still: the estimate only ever
    /// errs towards closing the connection.
    pub(crate) fn started(
        &mut self,
        ctx: &Ctx,
        remaining: Option<Duration>,
        limit: Option<Duration>,
    ) {
        self.due = match (ctx.deadline(), remaining, limit) {
            (Some(deadline), Some(remaining), Some(limit)) => Some(deadline - remaining + limit),
            _ => None,
        };
    }

    /// The statement's end (its last result, or its error) has been read. Returns whether
    /// the session can be used again: its limit, if it had one, had not yet come due.
    pub(crate) fn ended(&mut self) -> bool {
        self.due.take().is_none_or(|due| Instant::now() < due)
    }

    /// Whether a statement with a limit was sent and its end never read (its result was
    /// given up half-way): whether its timer was stopped in time cannot be told.
    pub(crate) fn unsettled(&self) -> bool {
        self.due.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tethered_core::Scope;

    const LIMIT: Duration = Duration::from_millis(600);

    fn sent_with_deadline(timer: &mut StatementTimer) -> Scope {
        let ctx = Ctx::background().with_timeout(Duration::from_millis(100));
        timer.started(&ctx, ctx.remaining(), Some(LIMIT));
        ctx
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_ended_before_its_limit_leaves_the_session_usable() {
        let mut timer = StatementTimer::default();
        let _ctx = sent_with_deadline(&mut timer);
        assert!(timer.unsettled(), "in flight, the end not yet read");
        tokio::time::advance(LIMIT - Duration::from_millis(1)).await;
        assert!(timer.ended());
        assert!(!timer.unsettled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_that_outlived_its_limit_does_not() {
        let mut timer = StatementTimer::default();
        let _ctx = sent_with_deadline(&mut timer);
        tokio::time::advance(LIMIT).await;
        assert!(!timer.ended());
        assert!(!timer.unsettled(), "the verdict is given once");
    }

    #[tokio::test(start_paused = true)]
    async fn the_estimate_errs_early_when_the_deadline_has_passed() {
        // Sent after its deadline (time left reads zero): its limit counts from the
        // deadline, not from the send.
        let mut timer = StatementTimer::default();
        let ctx = Ctx::background().with_timeout(Duration::from_millis(100));
        tokio::time::advance(Duration::from_millis(300)).await;
        timer.started(&ctx, ctx.remaining(), Some(LIMIT));
        tokio::time::advance(LIMIT - Duration::from_millis(200)).await;
        assert!(!timer.ended());
    }

    #[tokio::test(start_paused = true)]
    async fn a_statement_without_a_limit_never_holds_the_session() {
        let mut timer = StatementTimer::default();
        let ctx = Ctx::background();
        timer.started(&ctx, ctx.remaining(), None);
        assert!(!timer.unsettled());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(timer.ended());
    }
}
