//! The pool heals before its callers see a broken connection: pings after idling, one
//! more try for a statement that never reached the server, the background maintenance,
//! the `after_connect` hook, and closing within a context.

use std::time::Duration;

use tethered_core::{
    Ctx, Error, Executor, Pool, PoolConnection, PoolOptions, PoolStatus, StatementOutcome,
};

use crate::double::{FakeDriver, OnCancel, Server};

fn secs(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Options without background work or pings, for the test to turn on what it is about.
fn quiet(max_connections: usize) -> PoolOptions {
    PoolOptions {
        max_connections,
        idle_timeout: None,
        max_lifetime: None,
        ping_after_idle: None,
        cancel_grace: secs(1),
        stop_wait: secs(1),
        ..PoolOptions::default()
    }
}

/// Opens `n` sessions at once and returns them all idle.
async fn warm(pool: &Pool<FakeDriver>, n: usize) {
    let ctx = Ctx::background();
    let mut held = Vec::new();
    for _ in 0..n {
        let mut connection = pool.acquire(&ctx).await.expect("acquire");
        connection.execute(&ctx, "rows 0").await.expect("warm up");
        held.push(connection);
    }
}

#[tokio::test(start_paused = true)]
async fn statements_on_sessions_the_server_dropped_are_sent_again_and_all_succeed() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(4));
    warm(&pool, 4).await;
    for session in 1..=4 {
        server.drop_silently(session);
    }
    let before = server.statements().len();

    let ctx = Ctx::background();
    for _ in 0..8 {
        pool.fetch_all::<crate::double::FakeRow>(&ctx, "rows 1")
            .await
            .expect("every statement succeeds");
    }

    // Each ran once, all on the one new session: the first found its session dropped
    // while sending, and the other idle ones were suspected, pinged and replaced.
    assert_eq!(server.statements().len() - before, 8);
    assert!(
        server.sessions()[before..]
            .iter()
            .all(|&session| session == 5)
    );
    assert_eq!(Server::count(&server.connects), 5);
    assert_eq!(Server::count(&server.pings), 3);
    assert_eq!(pool.status().open, 1);
}

#[tokio::test(start_paused = true)]
async fn a_statement_is_sent_again_only_once() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(1));
    warm(&pool, 1).await;
    server.drop_silently(1);
    // The new session is dropped too before the statement reaches it.
    server.drop_silently(2);

    let error = pool
        .execute(&Ctx::background(), "rows 1")
        .await
        .expect_err("two sessions lost in a row");
    assert!(error.is_retry_safe(), "{error:?}");
    assert_eq!(Server::count(&server.connects), 2);
    assert!(pool.execute(&Ctx::background(), "rows 1").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_held_connection_is_not_replaced_under_its_holder() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(1));
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");
    connection.execute(&ctx, "rows 0").await.expect("runs");
    server.drop_silently(1);

    let error = connection.execute(&ctx, "rows 1").await.expect_err("lost");
    assert!(error.is_retry_safe(), "{error:?}");
    assert_eq!(Server::count(&server.connects), 1);
}

#[tokio::test(start_paused = true)]
async fn a_warm_checkout_sends_nothing_and_one_idle_past_the_threshold_is_pinged() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(PoolOptions {
        ping_after_idle: Some(secs(1)),
        ..quiet(1)
    });
    let ctx = Ctx::background();
    for _ in 0..3 {
        pool.execute(&ctx, "rows 0").await.expect("runs");
    }
    assert_eq!(Server::count(&server.pings), 0);

    tokio::time::sleep(secs(2)).await;
    pool.execute(&ctx, "rows 0").await.expect("runs");
    assert_eq!(Server::count(&server.pings), 1);
    assert_eq!(Server::count(&server.connects), 1);
}

#[tokio::test(start_paused = true)]
async fn an_idle_connection_that_fails_its_ping_is_replaced_before_anything_is_sent() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(PoolOptions {
        ping_after_idle: Some(secs(1)),
        ..quiet(1)
    });
    let ctx = Ctx::background();
    pool.execute(&ctx, "rows 0").await.expect("runs");
    server.drop_silently(1);
    tokio::time::sleep(secs(2)).await;

    pool.execute(&ctx, "rows 1")
        .await
        .expect("runs on a new session");
    assert_eq!(server.sessions(), [1, 2]);
    assert_eq!(Server::count(&server.pings), 1);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_closes_idle_connections_in_the_background() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(PoolOptions {
        idle_timeout: Some(secs(10)),
        ..quiet(2)
    });
    warm(&pool, 2).await;
    assert_eq!(pool.status().idle, 2);

    tokio::time::sleep(secs(15)).await;
    assert_eq!(pool.status().open, 0);
    assert_eq!(Server::count(&server.closes), 2);
}

#[tokio::test(start_paused = true)]
async fn max_lifetime_closes_a_connection_when_it_is_returned_or_found_idle() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(PoolOptions {
        max_lifetime: Some(secs(10)),
        ..quiet(2)
    });
    let ctx = Ctx::background();
    let mut held = pool.acquire(&ctx).await.expect("acquire");
    held.execute(&ctx, "rows 0").await.expect("session 1");
    pool.execute(&ctx, "rows 0")
        .await
        .expect("session 2, returned idle");

    tokio::time::sleep(secs(11)).await;
    assert_eq!(
        pool.status().idle,
        0,
        "the idle one was closed in the background"
    );
    drop(held);
    assert_eq!(
        pool.status().open,
        0,
        "the held one was closed as it was returned"
    );
    pool.execute(&ctx, "rows 0").await.expect("a new session");
    assert_eq!(server.sessions().last(), Some(&3));
}

#[tokio::test(start_paused = true)]
async fn min_idle_connections_are_opened_and_kept_in_the_background() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(PoolOptions {
        min_idle: 2,
        ..quiet(3)
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(pool.status().idle, 2);

    server.kill(1);
    tokio::time::sleep(secs(31)).await;
    assert_eq!(pool.status().idle, 2);
    assert_eq!(Server::count(&server.connects), 3);
}

#[tokio::test(start_paused = true)]
async fn the_maintenance_stops_when_the_pool_is_closed_or_dropped() {
    let server = Server::new(OnCancel::Stop);
    let options = PoolOptions {
        min_idle: 1,
        ..quiet(1)
    };
    let closed = server.pool_with(options.clone());
    tokio::time::sleep(Duration::from_millis(1)).await;
    closed.close();
    let dropped = server.pool_with(options);
    tokio::time::sleep(Duration::from_millis(1)).await;
    drop(dropped);

    tokio::time::sleep(secs(120)).await;
    assert_eq!(Server::count(&server.connects), 2);
    assert_eq!(Server::count(&server.closes), 2);
}

#[tokio::test(start_paused = true)]
async fn after_connect_runs_once_on_every_new_connection_before_it_is_handed_out() {
    let server = Server::new(OnCancel::Stop);
    let pool = Pool::with_after_connect(
        FakeDriver::new(&server),
        quiet(1),
        |ctx: &Ctx, connection: &mut PoolConnection<FakeDriver>| {
            Box::pin(async move { connection.execute(ctx, "rows 7").await.map(drop) })
        },
    )
    .expect("valid options");
    let ctx = Ctx::background();
    for _ in 0..2 {
        pool.execute(&ctx, "rows 1").await.expect("runs");
    }
    assert_eq!(server.statements(), ["rows 7", "rows 1", "rows 1"]);
}

#[tokio::test(start_paused = true)]
async fn a_failing_after_connect_hook_closes_the_connection_and_fails_the_checkout() {
    let server = Server::new(OnCancel::Stop);
    let pool = Pool::with_after_connect(
        FakeDriver::new(&server),
        quiet(1),
        |ctx: &Ctx, connection: &mut PoolConnection<FakeDriver>| {
            Box::pin(async move { connection.execute(ctx, "fail 0").await.map(drop) })
        },
    )
    .expect("valid options");
    let error = pool
        .acquire(&Ctx::background())
        .await
        .expect_err("the hook fails");
    assert_eq!(error.code(), Some("42601"));
    assert_eq!(pool.status().open, 0);
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn close_within_waits_for_statements_that_end_in_time() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(2));
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { pool.execute(&Ctx::background(), "sleep 100").await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;

    let ctx = Ctx::background().with_timeout(secs(1));
    pool.close_within(&ctx)
        .await
        .expect("every statement ended in time");
    assert!(running.await.expect("caller").is_ok());
    assert!(server.interrupted().is_empty());
    assert_eq!(pool.status().open, 0);
}

#[tokio::test(start_paused = true)]
async fn close_within_stops_statements_still_running_at_its_deadline_on_the_server() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(2));
    let statements: Vec<_> = ["sleep 100", "sleep 100000"]
        .into_iter()
        .map(|sql| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.execute(&Ctx::background(), sql).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(10)).await;

    let ctx = Ctx::background().with_timeout(secs(1));
    let closed = pool
        .close_within(&ctx)
        .await
        .expect_err("one outlived the deadline");
    assert_eq!(closed.outcome(), Some(StatementOutcome::Stopping));
    let mut results = Vec::new();
    for statement in statements {
        results.push(statement.await.expect("caller"));
    }
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(Error::Database(_))),
        "{:?}",
        results[1]
    );
    assert_eq!(server.interrupted(), [(2, "sleep 100000".to_owned())]);
    assert_eq!(
        pool.status(),
        PoolStatus {
            max_connections: 2,
            open: 0,
            idle: 0,
            waiting: 0,
        }
    );
}

#[test]
fn options_that_cannot_work_are_refused() {
    let server = Server::new(OnCancel::Stop);
    let refused = Pool::new(
        FakeDriver::new(&server),
        PoolOptions {
            min_idle: 3,
            ..quiet(2)
        },
    );
    assert!(matches!(refused, Err(Error::InvalidInput(_))));
}

#[tokio::test(start_paused = true)]
async fn a_begin_on_a_session_the_server_dropped_is_sent_again_on_another() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool_with(quiet(1));
    warm(&pool, 1).await;
    server.drop_silently(1);

    let ctx = Ctx::background();
    let mut tx = pool
        .begin(&ctx)
        .await
        .expect("a transaction on a new session");
    tx.execute(&ctx, "rows 1").await.expect("runs");
    tx.commit(&ctx).await.expect("commits");
    assert_eq!(server.sessions(), [1, 2, 2, 2]);
    assert_eq!(server.statements()[1..], ["BEGIN", "rows 1", "COMMIT"]);
}
