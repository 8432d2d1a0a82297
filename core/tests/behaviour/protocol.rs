//! The cancellation protocol's state machine, against the in-process double. Time is
//! tokio's paused clock, so every duration asserted here is exact.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tethered_core::{
    Cause, Ctx, Error, Executed, Executor, Pool, PoolConnection, PoolOptions, StatementOutcome,
};
use tokio::time::Instant;

use crate::double::{FakeDriver, FakeRow, OnCancel, Server};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn canceled(reason: &str) -> Cause {
    Cause::Canceled {
        reason: Arc::from(reason),
    }
}

fn outcome(result: &Result<impl std::fmt::Debug, Error>) -> (Option<Cause>, StatementOutcome) {
    match result {
        Err(Error::Canceled { cause, outcome }) => (Some(cause.clone()), *outcome),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

/// A statement run under a deadline, on the one connection of a fresh pool.
struct UnderDeadline {
    result: Result<Executed, Error>,
    took: Duration,
    pool: Pool<FakeDriver>,
    connection: PoolConnection<FakeDriver>,
}

impl UnderDeadline {
    /// The statement's connection runs the next statement, on the same session, and no
    /// connection was closed.
    async fn assert_kept(&mut self, server: &Server) {
        self.connection
            .execute(&Ctx::background(), "rows 1")
            .await
            .expect("same connection");
        assert_eq!(server.sessions(), [1, 1]);
        assert_eq!(Server::count(&server.closes), 0);
    }
}

/// Runs `sql` under a `deadline` derived now, on `server`'s only connection.
async fn under_deadline(server: &Arc<Server>, deadline: Duration, sql: &str) -> UnderDeadline {
    let pool = server.pool(1);
    let scope = Ctx::background().with_timeout(deadline);
    let mut connection = pool.acquire(&scope).await.expect("acquire");
    let start = Instant::now();
    let result = connection.execute(&scope, sql).await;
    UnderDeadline {
        result,
        took: start.elapsed(),
        pool,
        connection,
    }
}

#[tokio::test(start_paused = true)]
async fn a_done_context_sends_nothing_and_acquires_nothing() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(2);
    let scope = Ctx::background().child();
    let mut connection = pool.acquire(&scope).await.expect("acquire");
    scope.cancel("client left");

    let result = connection.fetch_all::<FakeRow>(&scope, "rows 1").await;
    assert_eq!(
        outcome(&result),
        (Some(canceled("client left")), StatementOutcome::NotSent)
    );

    let acquired = pool.acquire(&scope).await;
    assert_eq!(
        outcome(&acquired),
        (Some(canceled("client left")), StatementOutcome::NotSent)
    );

    assert!(server.statements().is_empty());
    assert_eq!(Server::count(&server.connects), 1);
    assert_eq!(Server::count(&server.cancels), 0);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_mid_flight_stops_the_statement_and_keeps_the_connection() {
    let server = Server::new(OnCancel::Stop);

    let mut run = under_deadline(&server, ms(100), "sleep 10000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(run.took, ms(100));
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(Server::count(&server.running), 0);
    run.assert_kept(&server).await;
}

#[tokio::test(start_paused = true)]
async fn an_explicit_cancel_mid_flight_calls_the_canceller_once_with_the_reason() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let scope = Ctx::background().child();
    let mut connection = pool.acquire(&scope).await.expect("acquire");

    let (result, ()) = tokio::join!(
        connection.fetch_all::<FakeRow>(&scope, "sleep 10000"),
        async {
            tokio::time::sleep(ms(30)).await;
            scope.cancel("user pressed stop");
        }
    );

    assert_eq!(
        outcome(&result),
        (
            Some(canceled("user pressed stop")),
            StatementOutcome::Stopped
        )
    );
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(server.interrupted(), [(1, "sleep 10000".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn a_parent_cancel_reaches_a_statement_run_under_a_child() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let request = Ctx::background().child();
    let stage = request.with_timeout(Duration::from_secs(60));
    let mut connection = pool.acquire(&stage).await.expect("acquire");

    let (result, ()) = tokio::join!(connection.execute(&stage, "sleep 10000"), async {
        tokio::time::sleep(ms(25)).await;
        request.cancel("request aborted");
    });

    assert_eq!(
        outcome(&result),
        (Some(canceled("request aborted")), StatementOutcome::Stopped)
    );
}

#[tokio::test(start_paused = true)]
async fn a_statement_that_completes_despite_the_cancel_closes_its_connection() {
    let server = Server::new(OnCancel::Ignore);

    let mut run = under_deadline(&server, ms(50), "sleep 200").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Completed)
    );
    assert_eq!(
        Server::count(&server.closes),
        1,
        "the connection was closed"
    );
    let reuse = run.connection.execute(&Ctx::background(), "rows 1").await;
    assert!(matches!(reuse, Err(Error::Connection { .. })), "{reuse:?}");

    // The stale stop request died with that connection: a fresh one is clean.
    drop(run.connection);
    run.pool
        .execute(&Ctx::background(), "rows 1")
        .await
        .expect("clean");
    assert_eq!(server.sessions(), [1, 2]);
    assert!(server.interrupted().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refused_cancel_is_asked_again_then_reports_an_unknown_outcome_and_closes() {
    let server = Server::new(OnCancel::Refuse);

    let run = under_deadline(&server, ms(10), "sleep 10000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Unknown)
    );
    assert_eq!(
        run.took,
        ms(10) + Duration::from_secs(1),
        "deadline + grace"
    );
    assert!(Server::count(&server.cancels) > 1, "asked again");
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_the_server_lost_is_sent_again_and_the_connection_kept() {
    let server = Server::new(OnCancel::Stop);
    server.lose_cancels.store(2, Ordering::SeqCst);

    let mut run = under_deadline(&server, ms(100), "sleep 10000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    // Asked at 100 ms, again 20 ms after that answer, again 40 ms after the next.
    assert_eq!(run.took, ms(160));
    assert_eq!(Server::count(&server.cancels), 3);
    run.assert_kept(&server).await;
}

#[tokio::test(start_paused = true)]
async fn a_stop_request_left_unanswered_is_sent_again_beside_it() {
    let server = Server::new(OnCancel::Stop);
    server.hang_cancels.store(1, Ordering::SeqCst);

    let run = under_deadline(&server, ms(100), "sleep 10000").await;

    // The second request, a second after the first, stops the statement; the first is
    // still on its way, so the connection is closed rather than kept.
    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(run.took, ms(1100));
    assert_eq!(Server::count(&server.cancels), 2);
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn the_caller_gets_control_back_after_stop_wait_while_the_stop_goes_on() {
    let server = Server::with_cancel_delay(OnCancel::Stop, ms(300));
    let pool = server.pool_with(PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    });
    let scope = Ctx::background().with_timeout(ms(100));
    let mut connection = pool.acquire(&scope).await.expect("acquire");
    let start = Instant::now();

    let result = connection.execute(&scope, "sleep 10000").await;

    assert_eq!(
        outcome(&result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopping)
    );
    assert_eq!(start.elapsed(), ms(110), "deadline + the default stop_wait");
    // The next statement on this connection waits for the stop, then reuses the session:
    // the request sent at 100 ms stops the statement at 400 ms.
    connection
        .execute(&Ctx::background(), "rows 1")
        .await
        .expect("same connection");
    assert_eq!(start.elapsed(), ms(400));
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(server.sessions(), [1, 1]);
    assert_eq!(server.interrupted(), [(1, "sleep 10000".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn a_statement_on_the_pool_does_not_wait_behind_a_pending_stop() {
    let server = Server::new(OnCancel::Hang);
    let pool = server.pool_with(PoolOptions {
        max_connections: 2,
        ..PoolOptions::default()
    });
    let start = Instant::now();

    let stopped = pool
        .execute(&Ctx::background().with_timeout(ms(100)), "sleep 10000")
        .await;
    assert_eq!(
        outcome(&stopped),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopping)
    );
    assert_eq!(start.elapsed(), ms(110));
    pool.execute(&Ctx::background(), "rows 1")
        .await
        .expect("another connection");

    assert_eq!(start.elapsed(), ms(110), "it waited for nothing");
    assert_eq!(server.sessions(), [1, 2]);
    // The stop gives up at the end of its grace and closes its connection.
    tokio::time::sleep(PoolOptions::default().cancel_grace).await;
    assert_eq!(Server::count(&server.closes), 1);
    assert_eq!(Server::count(&server.running), 0);
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_bounds_a_statement_that_ignores_the_cancel() {
    let server = Server::new(OnCancel::Ignore);

    let run = under_deadline(&server, ms(100), "sleep 3600000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Unknown)
    );
    assert_eq!(
        run.took,
        ms(100) + Duration::from_secs(1),
        "deadline + grace"
    );
    assert_eq!(Server::count(&server.closes), 1);
    assert_eq!(
        Server::count(&server.running),
        0,
        "dropping the statement ended it"
    );
}

#[tokio::test(start_paused = true)]
async fn the_grace_period_bounds_a_cancel_request_that_hangs() {
    let server = Server::new(OnCancel::Hang);

    let run = under_deadline(&server, ms(100), "sleep 3600000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Unknown)
    );
    assert_eq!(run.took, ms(1100));
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn a_stop_by_the_servers_own_timer_after_our_cancel_closes_the_connection() {
    // Our stop request may still be on its way: only "interrupted" proves it was consumed.
    let server = Server::new(OnCancel::StopByTimer);

    let run = under_deadline(&server, ms(100), "sleep 10000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn a_statement_the_server_stopped_itself_is_reported_without_waiting_for_our_request() {
    // The server's own timer fires at 130 ms while our stop request is still on its way:
    // the connection is closed either way, so the caller need not wait for the request.
    let server = Server::new(OnCancel::Hang);

    let run = under_deadline(&server, ms(100), "timeout 130").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(run.took, ms(130));
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_statement_keeps_its_connection_once_the_stop_request_completes() {
    // The statement is interrupted at once, but the request completes 40 ms later: until
    // then part of it could still hit the next statement.
    let server = Server::new(OnCancel::Stop);
    server.cancel_tail_millis.store(40, Ordering::SeqCst);

    let mut run = under_deadline(&server, ms(100), "sleep 10000").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(run.took, ms(140));
    run.assert_kept(&server).await;
}

#[tokio::test(start_paused = true)]
async fn the_servers_own_deadline_is_reported_as_the_contexts() {
    let server = Server::new(OnCancel::Stop);

    // The server's timer fires first: no stop request is needed, the connection is clean.
    let mut run = under_deadline(&server, ms(100), "timeout 90").await;

    assert_eq!(
        outcome(&run.result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::Stopped)
    );
    assert_eq!(Server::count(&server.cancels), 0);
    run.connection
        .execute(&Ctx::background(), "rows 1")
        .await
        .expect("still clean");
}

#[tokio::test(start_paused = true)]
async fn without_a_deadline_a_server_timeout_stays_a_database_error() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");

    let result = connection.execute(&ctx, "timeout 5").await;

    assert_eq!(result.expect_err("timed out").code(), Some("57014"));
}

#[tokio::test(start_paused = true)]
async fn a_statement_failing_on_its_own_after_the_cancel_reports_its_error() {
    let server = Server::new(OnCancel::Ignore);

    let run = under_deadline(&server, ms(10), "fail 20").await;

    assert_eq!(run.result.expect_err("syntax error").code(), Some("42601"));
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(
        Server::count(&server.closes),
        1,
        "the stop request may be pending"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_statement_is_stopped_and_its_connection_released_only_after() {
    let server = Server::with_cancel_delay(OnCancel::Stop, ms(15));
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let start = Instant::now();

    {
        let mut connection = pool.acquire(&ctx).await.expect("acquire");
        let dropped = tokio::time::timeout(ms(20), connection.execute(&ctx, "sleep 10000")).await;
        assert!(dropped.is_err(), "the timeout dropped the statement");
        assert!(!ctx.is_done(), "no context was cancelled");
    }

    // The only connection comes back once the stop has been confirmed: 20 ms + 15 ms.
    let mut connection = pool.acquire(&ctx).await.expect("acquire after cleanup");
    assert_eq!(start.elapsed(), ms(35));
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(Server::count(&server.running), 0);
    assert_eq!(server.interrupted(), [(1, "sleep 10000".to_owned())]);

    connection.execute(&ctx, "rows 1").await.expect("clean");
    assert_eq!(server.sessions(), [1, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_held_connection_waits_for_its_dropped_statement_to_settle_then_reuses_it() {
    let server = Server::with_cancel_delay(OnCancel::Stop, ms(30));
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");
    let start = Instant::now();

    tokio::select! {
        _ = connection.execute(&ctx, "sleep 10000") => panic!("it sleeps"),
        () = tokio::time::sleep(ms(20)) => {}
    }
    connection.execute(&ctx, "rows 1").await.expect("reused");

    // Stopped by the request sent at 20 ms, which arrives at 50 ms.
    assert_eq!(start.elapsed(), ms(50));
    assert_eq!(Server::count(&server.cancels), 1);
    assert_eq!(server.sessions(), [1, 1]);
    assert_eq!(Server::count(&server.closes), 0);
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_dropped_statement_to_settle_is_bounded_by_the_next_context() {
    let server = Server::new(OnCancel::Hang);
    let pool = server.pool(1);
    let mut connection = pool.acquire(&Ctx::background()).await.expect("acquire");
    let ctx = Ctx::background();
    let _ = tokio::time::timeout(ms(5), connection.execute(&ctx, "sleep 10000")).await;

    let impatient = Ctx::background().with_timeout(ms(100));
    let result = connection.execute(&impatient, "rows 1").await;

    assert_eq!(
        outcome(&result),
        (Some(Cause::DeadlineExceeded), StatementOutcome::NotSent)
    );
    // The hung stop runs out its grace; then the connection is known to be closed.
    let later = connection.execute(&ctx, "rows 1").await;
    assert!(matches!(later, Err(Error::Connection { .. })), "{later:?}");
    assert_eq!(server.statements(), ["sleep 10000"]);
}

#[tokio::test(start_paused = true)]
async fn acquiring_from_an_exhausted_pool_ends_with_the_contexts_cause() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let _held = pool.acquire(&Ctx::background()).await.expect("acquire");
    let scope = Ctx::background().with_timeout(ms(150));
    let start = Instant::now();

    let waited = pool.acquire(&scope).await;

    assert_eq!(
        outcome(&waited),
        (Some(Cause::DeadlineExceeded), StatementOutcome::NotSent)
    );
    assert_eq!(start.elapsed(), ms(150));
    assert_eq!(pool.status().waiting, 0, "the waiter left the queue");
}

#[tokio::test(start_paused = true)]
async fn acquiring_from_an_exhausted_pool_ends_at_the_pools_own_timeout() {
    let server = Server::new(OnCancel::Stop);
    let options = PoolOptions {
        max_connections: 1,
        acquire_timeout: ms(500),
        ..PoolOptions::default()
    };
    let pool = tethered_core::Pool::new(crate::double::FakeDriver::new(&server), options)
        .expect("valid options");
    let _held = pool.acquire(&Ctx::background()).await.expect("acquire");

    let waited = pool.acquire(&Ctx::background()).await;

    assert!(matches!(waited, Err(Error::PoolTimedOut { waited }) if waited == ms(500)));
}

#[test]
fn impossible_pool_options_are_refused() {
    let server = Server::new(OnCancel::Stop);
    for options in [
        PoolOptions {
            max_connections: 0,
            ..PoolOptions::default()
        },
        PoolOptions {
            cancel_grace: Duration::from_secs(365 * 24 * 3600),
            ..PoolOptions::default()
        },
    ] {
        let refused = tethered_core::Pool::new(crate::double::FakeDriver::new(&server), options);
        assert!(matches!(refused, Err(Error::InvalidInput(_))));
    }
}

#[tokio::test(start_paused = true)]
async fn a_statement_that_loses_its_connection_closes_it_and_the_pool_heals() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");

    let lost = connection.execute(&ctx, "lose").await;
    assert!(matches!(lost, Err(Error::Connection { .. })), "{lost:?}");
    let again = connection.execute(&ctx, "rows 1").await;
    assert!(matches!(again, Err(Error::Connection { .. })), "{again:?}");
    drop(connection);

    pool.execute(&ctx, "rows 1")
        .await
        .expect("a new connection");
    assert_eq!(server.sessions(), [1, 2]);
    assert_eq!(Server::count(&server.closes), 1);
}
