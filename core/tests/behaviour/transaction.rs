//! Transactions and the executor surface, against the in-process double.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tethered_core::{Cause, Ctx, Error, Executor, StatementOutcome};

use crate::double::{FakeRow, OnCancel, Server};

fn cancellation(error: Error) -> (Cause, StatementOutcome) {
    match error {
        Error::Canceled { cause, outcome } => (cause, outcome),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_pool_decodes_all_one_or_an_optional_row() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();

    let all: Vec<FakeRow> = pool.fetch_all(&ctx, "rows 3").await.expect("rows");
    assert_eq!(all, [FakeRow(0), FakeRow(1), FakeRow(2)]);
    let one: FakeRow = pool.fetch_one(&ctx, "rows 2").await.expect("a row");
    assert_eq!(one, FakeRow(0));
    let none: Option<FakeRow> = pool.fetch_optional(&ctx, "rows 0").await.expect("no row");
    assert_eq!(none, None);
    let missing = pool.fetch_one::<FakeRow>(&ctx, "rows 0").await;
    assert!(
        matches!(missing, Err(Error::RowNotFound { table: None })),
        "{missing:?}"
    );
    let executed = pool.execute(&ctx, "rows 5").await.expect("executed");
    assert_eq!(executed.rows_affected, 5);
    assert_eq!(Server::count(&server.connects), 1, "one connection, reused");
}

#[tokio::test(start_paused = true)]
async fn a_committed_transaction_sends_begin_then_commit() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();

    let mut tx = pool.begin(&ctx).await.expect("begin");
    tx.execute(&ctx, "rows 1").await.expect("insert");
    tx.commit(&ctx).await.expect("commit");

    assert_eq!(server.statements(), ["BEGIN", "rows 1", "COMMIT"]);
    assert_eq!(pool.status().idle, 1);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_transaction_is_rolled_back_before_its_connection_returns() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();

    let mut tx = pool.begin(&ctx).await.expect("begin");
    tx.execute(&ctx, "rows 1").await.expect("insert");
    drop(tx);
    let mut connection = pool.acquire(&ctx).await.expect("the connection comes back");
    connection.execute(&ctx, "rows 0").await.expect("usable");

    assert_eq!(
        server.statements(),
        ["BEGIN", "rows 1", "ROLLBACK", "rows 0"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_transaction_whose_context_ended_rolls_back_instead_of_committing() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let request = Ctx::background().child();

    let mut tx = pool.begin(&request).await.expect("begin");
    tx.execute(&request, "rows 1").await.expect("first insert");
    request.cancel("client left");
    let commit = tx.commit(&Ctx::background()).await;

    let (cause, outcome) = cancellation(commit.expect_err("rolled back"));
    assert_eq!(cause.reason(), Some("client left"));
    assert_eq!(outcome, StatementOutcome::NotSent);
    assert_eq!(server.statements(), ["BEGIN", "rows 1", "ROLLBACK"]);
}

#[tokio::test(start_paused = true)]
async fn a_statement_after_the_transactions_context_ended_rolls_back_and_sends_nothing() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let request = Ctx::background().child();
    let mut tx = pool.begin(&request).await.expect("begin");
    request.cancel("shutdown");

    let second = tx.execute(&Ctx::background(), "rows 1").await;

    let (cause, outcome) = cancellation(second.expect_err("rolled back"));
    assert_eq!(cause.reason(), Some("shutdown"));
    assert_eq!(outcome, StatementOutcome::NotSent);
    assert_eq!(server.statements(), ["BEGIN", "ROLLBACK"]);
    let ended = tx.commit(&Ctx::background()).await;
    assert!(matches!(ended, Err(Error::InvalidInput(_))), "{ended:?}");
}

#[tokio::test(start_paused = true)]
async fn a_cancel_racing_commit_reports_an_unknown_outcome_never_a_rollback() {
    let server = Server::new(OnCancel::Stop);
    server.commit_millis.store(200, Ordering::SeqCst);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let mut tx = pool.begin(&ctx).await.expect("begin");
    tx.execute(&ctx, "rows 1").await.expect("insert");

    let hurried = ctx.with_timeout(Duration::from_millis(50));
    let commit = tx.commit(&hurried).await;

    let (cause, outcome) = cancellation(commit.expect_err("cut short"));
    assert_eq!(cause, Cause::DeadlineExceeded);
    assert_eq!(outcome, StatementOutcome::Unknown);
}
