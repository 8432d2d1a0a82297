//! Transactions under contexts: committed, rolled back, cancelled, dropped.

use std::time::Duration;

use tethered::{Executor, Model, StatementOutcome};

use crate::backend::{Backend, Stage};
use crate::models::{User, users};

async fn stored_users<B: Backend>(stage: &Stage<B>) -> u64 {
    User::query()
        .count(&stage.root, &stage.pool)
        .await
        .expect("count")
}

pub async fn a_committed_transaction_is_visible_and_a_rolled_back_one_is_not<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let ctx = &stage.root;

    let mut kept = stage.pool.begin(ctx).await.expect("begin");
    User::new("kept@example.com", None, 1)
        .insert(ctx, &mut kept)
        .await
        .expect("insert");
    kept.commit(ctx).await.expect("commit");
    let mut undone = stage.pool.begin(ctx).await.expect("begin");
    User::new("undone@example.com", None, 2)
        .insert(ctx, &mut undone)
        .await
        .expect("insert");
    undone.rollback(ctx).await.expect("rollback");

    let emails: Vec<String> = User::query()
        .all(ctx, &stage.pool)
        .await
        .expect("all")
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(emails, ["kept@example.com"]);
    stage.finish().await;
}

pub async fn a_transaction_cancelled_between_two_inserts_leaves_neither_row<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let request = stage.root.child();

    let mut tx = stage.pool.begin(&request).await.expect("begin");
    User::new("first@example.com", None, 1)
        .insert(&request, &mut tx)
        .await
        .expect("first insert");
    request.cancel("the client went away");
    let second = User::new("second@example.com", None, 2)
        .insert(&request, &mut tx)
        .await;
    let commit = tx.commit(&stage.root).await;

    assert_eq!(
        second.expect_err("cancelled").outcome(),
        Some(StatementOutcome::NotSent)
    );
    assert!(commit.is_err(), "{commit:?}");
    assert_eq!(stored_users(&stage).await, 0);
    stage.finish().await;
}

pub async fn a_transaction_whose_second_insert_is_stopped_mid_flight_leaves_neither_row<
    B: Backend,
>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let request = stage.root.with_timeout(Duration::from_millis(300));
    // SQLite leaves out a subquery's column nobody reads, sleep and all: there the sleep is
    // read by the WHERE.
    let slow_insert = if B::NAME == "SQLite" {
        format!(
            "INSERT INTO users (email_address, age) SELECT 'slow@example.com', 2 FROM \
             (SELECT {}(10) AS slept) AS s WHERE s.slept IS NOT NULL",
            B::SLEEP
        )
    } else {
        format!(
            "INSERT INTO users (email_address, age) SELECT 'slow@example.com', 2 FROM (SELECT {}(10)) AS s",
            B::SLEEP
        )
    };

    let mut tx = stage.pool.begin(&request).await.expect("begin");
    User::new("first@example.com", None, 1)
        .insert(&request, &mut tx)
        .await
        .expect("first insert");
    let second = tx.execute(&request, slow_insert).await;
    let commit = tx.commit(&request).await;

    assert!(second.expect_err("the deadline").is_deadline_exceeded());
    assert!(commit.is_err(), "{commit:?}");
    assert_eq!(stored_users(&stage).await, 0);
    stage.finish().await;
}

pub async fn a_dropped_transaction_rolls_back<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    stage.setup(users()).await;
    let ctx = &stage.root;

    let mut tx = stage.pool.begin(ctx).await.expect("begin");
    User::new("dropped@example.com", None, 1)
        .insert(ctx, &mut tx)
        .await
        .expect("insert");
    drop(tx);
    // The only connection comes back once the rollback has run.
    let waiting = ctx.with_timeout(Duration::from_secs(5));
    let count = User::query()
        .count(&waiting, &stage.pool)
        .await
        .expect("count");

    assert_eq!(count, 0);
    stage.finish().await;
}

pub async fn an_insert_inside_a_transaction_reads_its_row_back_there<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    let ctx = &stage.root;

    let mut tx = stage.pool.begin(ctx).await.expect("begin");
    let inserted = User::new("inside@example.com", Some("Inside"), 5)
        .insert(ctx, &mut tx)
        .await
        .expect("insert");
    let seen_inside = User::find(ctx, &mut tx, inserted.id).await.expect("find");
    let seen_outside = User::find(ctx, &stage.pool, inserted.id)
        .await
        .expect("find");
    tx.commit(ctx).await.expect("commit");

    assert_eq!(seen_inside, Some(inserted.clone()));
    assert_eq!(seen_outside, None, "not visible before the commit");
    assert_eq!(
        User::find(ctx, &stage.pool, inserted.id)
            .await
            .expect("find"),
        Some(inserted)
    );
    stage.finish().await;
}
