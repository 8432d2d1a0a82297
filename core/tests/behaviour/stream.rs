//! Streams of rows under the protocol, against the in-process double: each row is a poll of
//! the statement, so the context is seen between any two rows, and every way a stream
//! ends leaves the statement stopped and the connection clean (or closed).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use tethered_core::{Cause, Ctx, Error, Executor, StatementOutcome};
use tokio::time::Instant;

use crate::double::{FakeRow, OnCancel, Server};

fn canceled(error: Error) -> (Cause, StatementOutcome) {
    match error {
        Error::Canceled { cause, outcome } => (cause, outcome),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_stream_yields_every_row_in_order_then_ends_and_returns_its_connection() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let rows: Vec<FakeRow> = pool
        .fetch::<FakeRow>(&ctx, "rows 5")
        .try_collect()
        .await
        .expect("five rows");
    assert_eq!(rows, (0..5).map(FakeRow).collect::<Vec<_>>());
    let again: Vec<FakeRow> = pool.fetch_all(&ctx, "rows 2").await.expect("again");
    assert_eq!(again.len(), 2);
    assert_eq!(server.sessions(), [1, 1], "one connection, reused");
    assert_eq!(Server::count(&server.closes), 0);
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_until_the_stream_is_polled() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let rows = pool.fetch::<FakeRow>(&Ctx::background(), "rows 1");
    drop(rows);
    assert!(server.statements().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cancel_mid_flood_stops_the_statement_and_ends_the_stream_with_the_cause() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let mut connection = pool.acquire(&Ctx::background()).await.expect("acquire");
    let scope = Ctx::background().child();
    let mut rows = connection.fetch::<FakeRow>(&scope, "flood");
    for expected in 0..100 {
        let row = rows.next().await.expect("a row").expect("not an error");
        assert_eq!(row, FakeRow(expected));
    }
    scope.cancel("enough");
    let error = rows
        .next()
        .await
        .expect("the error")
        .expect_err("no row after the cancel");
    assert_eq!(
        canceled(error),
        (
            Cause::Canceled {
                reason: Arc::from("enough")
            },
            StatementOutcome::Stopped
        )
    );
    assert!(
        rows.next().await.is_none(),
        "the stream ends after the error"
    );
    drop(rows);
    assert_eq!(server.interrupted(), [(1, "flood".to_owned())]);
    connection
        .execute(&Ctx::background(), "rows 1")
        .await
        .expect("the same connection runs on");
    assert_eq!(server.sessions(), [1, 1]);
    assert_eq!(Server::count(&server.closes), 0);
}

#[tokio::test(start_paused = true)]
async fn a_flood_dropped_part_way_is_stopped_in_the_background_and_its_connection_kept() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let mut connection = pool.acquire(&ctx).await.expect("acquire");
    let first: Vec<FakeRow> = connection
        .fetch::<FakeRow>(&ctx, "flood")
        .take(10)
        .try_collect()
        .await
        .expect("ten rows");
    assert_eq!(first.len(), 10);
    // The next statement waits for the stop to settle, then runs on the same session.
    connection
        .execute(&ctx, "rows 1")
        .await
        .expect("the same connection runs on");
    assert_eq!(server.interrupted(), [(1, "flood".to_owned())]);
    assert_eq!(server.sessions(), [1, 1]);
    assert_eq!(Server::count(&server.closes), 0);
}

#[tokio::test(start_paused = true)]
async fn fetch_one_reads_the_rest_so_the_statement_ends_by_itself() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let first: FakeRow = pool.fetch_one(&ctx, "rows 3").await.expect("a row");
    assert_eq!(first, FakeRow(0));
    let none: Option<FakeRow> = pool.fetch_optional(&ctx, "rows 0").await.expect("none");
    assert_eq!(none, None);
    assert!(server.interrupted().is_empty(), "nothing was stopped");
    assert_eq!(Server::count(&server.closes), 0);
}

// Real time: a flood is always ready, so a paused clock would never reach the deadline.
#[tokio::test]
async fn fetch_all_of_a_flood_returns_at_its_deadline() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let deadline = Duration::from_millis(50);
    let scope = Ctx::background().with_timeout(deadline);
    let start = Instant::now();
    let error = pool
        .fetch_all::<FakeRow>(&scope, "flood")
        .await
        .expect_err("a flood never ends");
    let took = start.elapsed();
    let (cause, _) = canceled(error);
    assert_eq!(cause, Cause::DeadlineExceeded);
    assert!(took < Duration::from_secs(1), "returned after {took:?}");
    assert_eq!(server.interrupted(), [(1, "flood".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn rows_of_a_completed_statement_are_not_handed_out_once_the_context_ends() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let scope = Ctx::background().child();
    // Five rows come in one batch, and the statement has ended by the first row.
    let mut rows = pool.fetch::<FakeRow>(&scope, "rows 5");
    assert_eq!(
        rows.next().await.expect("a row").expect("a row"),
        FakeRow(0)
    );
    assert_eq!(
        rows.next().await.expect("a row").expect("a row"),
        FakeRow(1)
    );
    scope.cancel("enough");
    let error = rows
        .next()
        .await
        .expect("the error")
        .expect_err("no row once ended");
    assert_eq!(
        canceled(error),
        (
            Cause::Canceled {
                reason: Arc::from("enough")
            },
            StatementOutcome::Completed
        )
    );
    assert!(rows.next().await.is_none());
    assert!(server.interrupted().is_empty(), "nothing left to stop");
    assert_eq!(Server::count(&server.closes), 0, "the connection went back");
}
