//! Transactions under contexts: a cancelled transaction leaves nothing behind.

use std::time::Duration;

use tethered_core::{Ctx, Error, Executor, Sql, StatementOutcome};

use crate::support::{Observer, pool, unique};

async fn table(observer: &Observer) -> String {
    let table = unique("tx");
    observer
        .execute(&format!(
            "CREATE TABLE {table} (n int NOT NULL) ENGINE=InnoDB"
        ))
        .await;
    table
}

async fn rows(observer: &Observer, table: &str) -> i64 {
    observer
        .query_one(&format!("SELECT count(*) FROM {table}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cancelled_between_two_inserts_leaves_neither_row() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = table(&observer).await;
    let insert = |n: i32| Sql::new(format!("INSERT INTO {table} (n) VALUES (?)")).bind(n);
    let request = Ctx::background().child();

    let mut tx = pool.begin(&request).await.expect("begin");
    tx.execute(&request, insert(1)).await.expect("first insert");
    request.cancel("client went away");
    let second = tx.execute(&request, insert(2)).await;
    let commit = tx.commit(&Ctx::background()).await;

    assert_eq!(
        second.expect_err("cancelled").outcome(),
        Some(StatementOutcome::NotSent)
    );
    assert!(commit.is_err(), "{commit:?}");
    assert_eq!(rows(&observer, &table).await, 0);
    observer.execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_second_insert_is_stopped_mid_flight_leaves_neither_row() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = table(&observer).await;
    let request = Ctx::background().with_timeout(Duration::from_millis(300));

    let mut tx = pool.begin(&request).await.expect("begin");
    let first = format!("INSERT INTO {table} (n) VALUES (1)");
    tx.execute(&request, first.as_str())
        .await
        .expect("first insert");
    let slow = format!("INSERT INTO {table} (n) SELECT 2 FROM (SELECT SLEEP(10)) AS s");
    let second = tx.execute(&request, slow.as_str()).await;
    let commit = tx.commit(&request).await;

    let second = second.expect_err("deadline");
    assert!(second.is_deadline_exceeded(), "{second:?}");
    assert_eq!(second.outcome(), Some(StatementOutcome::Stopped));
    assert!(matches!(commit, Err(Error::Canceled { .. })), "{commit:?}");
    assert_eq!(rows(&observer, &table).await, 0);
    observer.execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transaction_rolls_back_and_a_committed_one_stays() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = table(&observer).await;
    let ctx = Ctx::background();
    let insert = format!("INSERT INTO {table} (n) VALUES (1)");

    let mut dropped = pool.begin(&ctx).await.expect("begin");
    dropped
        .execute(&ctx, insert.as_str())
        .await
        .expect("insert");
    drop(dropped);
    let mut committed = pool.begin(&ctx).await.expect("the connection came back");
    committed
        .execute(&ctx, insert.as_str())
        .await
        .expect("insert");
    committed.commit(&ctx).await.expect("commit");

    assert_eq!(rows(&observer, &table).await, 1);
    let mut rolled_back = pool.begin(&ctx).await.expect("begin");
    rolled_back
        .execute(&ctx, insert.as_str())
        .await
        .expect("insert");
    rolled_back.rollback(&ctx).await.expect("rollback");
    assert_eq!(rows(&observer, &table).await, 1);
    observer.execute(&format!("DROP TABLE {table}")).await;
}
