//! Portable error kinds, each produced by a real violation or conflict on the server and
//! told apart without reading a message; and [`Pool::transaction`], which runs a
//! transaction again after a deadlock or a serialization failure.
//!
//! Deadlocks are made deterministic by synchronising the two transactions (each holds its
//! first row before either asks for its second), serialization failures by writing the row
//! from outside between the transaction's read and its write. Neither waits on a clock.
//! MariaDB reports a serialization failure only under `innodb_snapshot_isolation` (see
//! [`Backend::SNAPSHOT_ISOLATION`]); both servers report every other kind by default.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tethered::{Ctx, DatabaseErrorKind, Driver, Error, Executor, Model, Pool, Result, Transaction};
use tokio::sync::{Barrier, Notify};
use tokio::time::Sleep;

use crate::backend::{Backend, Stage};
use crate::models::{User, users};

/// A guard on every test here: long enough for PostgreSQL's deadlock detection (1 s by
/// default) many times over, short enough that a hung test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// `parents` (with a named unique constraint) and `children` (with a named foreign key, a
/// NOT NULL column and a named check constraint), one parent stored.
async fn family<B: Backend>(stage: &Stage<B>) {
    stage
        .setup(format!(
            "CREATE TABLE parents (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL, \
             CONSTRAINT parents_email_unique UNIQUE (email)){}",
            B::TABLE_OPTIONS
        ))
        .await;
    stage
        .setup(format!(
            "CREATE TABLE children (id BIGINT PRIMARY KEY, parent_id BIGINT NOT NULL, \
             quantity INT NOT NULL, \
             CONSTRAINT children_parent_fk FOREIGN KEY (parent_id) REFERENCES parents (id), \
             CONSTRAINT children_quantity_positive CHECK (quantity > 0)){}",
            B::TABLE_OPTIONS
        ))
        .await;
    stage
        .setup("INSERT INTO parents (id, email) VALUES (1, 'ada@example.com')")
        .await;
}

/// `counters` with rows 1 and 2, both at 0.
pub async fn counters<B: Backend>(stage: &Stage<B>) {
    stage
        .setup(format!(
            "CREATE TABLE counters (id BIGINT PRIMARY KEY, n BIGINT NOT NULL){}",
            B::TABLE_OPTIONS
        ))
        .await;
    stage
        .setup("INSERT INTO counters (id, n) VALUES (1, 0), (2, 0)")
        .await;
}

/// Adds one to counter `id`, locking its row until the transaction ends.
fn bump(id: i64) -> String {
    format!("UPDATE counters SET n = n + 1 WHERE id = {id}")
}

async fn counter<B: Backend>(stage: &Stage<B>, id: i64) -> i64 {
    let (n,): (i64,) = stage
        .pool
        .fetch_one(
            &stage.root,
            format!("SELECT n FROM counters WHERE id = {id}"),
        )
        .await
        .expect("read a counter");
    n
}

pub async fn a_duplicate_key_is_a_unique_violation_naming_its_constraint<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    family(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);

    let duplicate = stage
        .pool
        .execute(
            ctx,
            "INSERT INTO parents (id, email) VALUES (2, 'ada@example.com')",
        )
        .await
        .expect_err("a duplicate email");
    let same_key = stage
        .pool
        .execute(
            ctx,
            "INSERT INTO parents (id, email) VALUES (1, 'b@example.com')",
        )
        .await
        .expect_err("a duplicate key");

    assert!(duplicate.is_unique_violation(), "{duplicate}");
    assert_eq!(duplicate.constraint(), Some("parents_email_unique"));
    assert!(!duplicate.is_retryable());
    assert!(same_key.is_unique_violation(), "{same_key}");
    stage.finish().await;
}

pub async fn a_missing_parent_and_a_referenced_parent_are_foreign_key_violations<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    family(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);
    let child = |id: i64, parent: i64| {
        format!("INSERT INTO children (id, parent_id, quantity) VALUES ({id}, {parent}, 1)")
    };

    let orphan = stage
        .pool
        .execute(ctx, child(1, 99))
        .await
        .expect_err("no parent 99");
    stage
        .pool
        .execute(ctx, child(2, 1))
        .await
        .expect("a child of parent 1");
    let referenced = stage
        .pool
        .execute(ctx, "DELETE FROM parents WHERE id = 1")
        .await
        .expect_err("parent 1 has a child");

    for error in [&orphan, &referenced] {
        assert!(error.is_foreign_key_violation(), "{error}");
        assert_eq!(error.constraint(), Some("children_parent_fk"), "{error}");
    }
    stage.finish().await;
}

pub async fn a_null_into_not_null_is_a_not_null_violation_naming_its_column<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    family(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);

    let null = stage
        .pool
        .execute(
            ctx,
            "INSERT INTO children (id, parent_id, quantity) VALUES (1, 1, NULL)",
        )
        .await
        .expect_err("a NULL quantity");

    assert!(null.is_not_null_violation(), "{null}");
    let database = null.as_database_error().expect("a server error");
    assert_eq!(database.column(), Some("quantity"));
    assert_eq!(database.constraint(), None);
    stage.finish().await;
}

pub async fn a_failed_check_is_a_check_violation_naming_its_constraint<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    family(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);

    let negative = stage
        .pool
        .execute(
            ctx,
            "INSERT INTO children (id, parent_id, quantity) VALUES (1, 1, -5)",
        )
        .await
        .expect_err("a negative quantity");

    assert!(negative.is_check_violation(), "{negative}");
    assert_eq!(negative.constraint(), Some("children_quantity_positive"));
    stage.finish().await;
}

/// Runs a transaction on `pool` that bumps counter `first`, waits at `barrier` until the
/// other transaction holds its first row too, then bumps `second`, and commits.
async fn first_then_second<D: Driver>(
    ctx: &Ctx,
    pool: &Pool<D>,
    barrier: &Barrier,
    (first, second): (i64, i64),
) -> Result<()> {
    let mut tx = pool.begin(ctx).await?;
    tx.execute(ctx, bump(first)).await?;
    barrier.wait().await;
    tx.execute(ctx, bump(second)).await?;
    tx.commit(ctx).await
}

pub async fn two_transactions_locking_two_rows_in_opposite_order_deadlock<B: Backend>() {
    let stage = Stage::<B>::new(3).await;
    counters(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);
    let barrier = Barrier::new(2);

    let (one, two) = tokio::join!(
        first_then_second(ctx, &stage.pool, &barrier, (1, 2)),
        first_then_second(ctx, &stage.pool, &barrier, (2, 1)),
    );

    let victim = match (one, two) {
        (Err(victim), Ok(())) | (Ok(()), Err(victim)) => victim,
        other => panic!("exactly one transaction is a deadlock's victim: {other:?}"),
    };
    assert!(victim.is_deadlock(), "{victim}");
    assert!(victim.is_retryable());
    assert_eq!(victim.database_kind(), Some(DatabaseErrorKind::Deadlock));
    assert_eq!(
        (counter(&stage, 1).await, counter(&stage, 2).await),
        (1, 1),
        "only the survivor's bumps stand"
    );
    stage.finish().await;
}

/// An outside write between a snapshot transaction's read and its write: the transaction
/// says it has read, the writer bumps the row and says it has written.
#[derive(Clone, Default)]
struct Interference {
    read: Arc<Notify>,
    written: Arc<Notify>,
}

impl Interference {
    /// The outside writer: once the transaction has read, bumps counter 1 on `pool`
    /// (committed at once).
    async fn write<D: Driver>(&self, ctx: &Ctx, pool: &Pool<D>) {
        self.read.notified().await;
        pool.execute(ctx, bump(1)).await.expect("bump from outside");
        self.written.notify_one();
    }
}

/// In a snapshot transaction: reads counter 1; with an interference, lets it write the row
/// from outside and then waits for `pause`; then bumps the counter itself.
async fn read_then_bump<D: Driver>(
    ctx: &Ctx,
    tx: &mut Transaction<D>,
    interference: Option<(Interference, Sleep)>,
) -> Result<()> {
    tx.execute(ctx, "SELECT n FROM counters WHERE id = 1")
        .await?;
    if let Some((interference, pause)) = interference {
        interference.read.notify_one();
        interference.written.notified().await;
        pause.await;
    }
    tx.execute(ctx, bump(1)).await.map(drop)
}

/// Makes a transaction fail to serialize, for real: it reads counter 1 in a snapshot
/// (through `snapshots`, a [`Stage::pool_with_session`] under
/// [`Backend::SNAPSHOT_ISOLATION`]), the row is bumped from `outside`, then the
/// transaction bumps it too. Returns that last statement's error (or what else went wrong
/// first); the table is [`counters`]'s.
pub async fn serialization_failure<D: Driver>(
    ctx: &Ctx,
    snapshots: &Pool<D>,
    outside: &Pool<D>,
) -> Error {
    let interference = Interference::default();
    let mut tx = match snapshots.begin(ctx).await {
        Ok(tx) => tx,
        Err(error) => return error,
    };
    let pause = tokio::time::sleep(Duration::ZERO);
    let (conflict, ()) = tokio::join!(
        read_then_bump(ctx, &mut tx, Some((interference.clone(), pause))),
        interference.write(ctx, outside),
    );
    match conflict {
        Ok(()) => Error::InvalidInput("the transaction wrote the changed row".into()),
        Err(error) => error,
    }
}

pub async fn a_write_to_a_row_changed_since_the_snapshot_is_a_serialization_failure<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    counters(&stage).await;
    let snapshots = stage.pool_with_session(1, B::SNAPSHOT_ISOLATION);
    let ctx = &stage.root.with_timeout(PATIENCE);

    let conflict = serialization_failure(ctx, &snapshots, &stage.pool).await;

    assert!(conflict.is_serialization_failure(), "{conflict}");
    assert!(conflict.is_retryable());
    assert_eq!(counter(&stage, 1).await, 1, "only the outside bump stands");
    snapshots.close();
    stage.finish().await;
}

pub async fn the_retry_helper_runs_a_deadlocked_transaction_again_and_commits_it<B: Backend>() {
    let stage = Stage::<B>::new(3).await;
    counters(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);
    let barrier = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));

    // Both through the helper: whichever the server picks as the victim runs again, once
    // the other has committed; only first attempts meet at the barrier.
    let retried = |rows: (i64, i64)| {
        let (barrier, runs) = (Arc::clone(&barrier), Arc::clone(&runs));
        let attempts = Arc::new(AtomicU32::new(0));
        stage.pool.transaction(ctx, move |ctx, tx| {
            let (barrier, runs) = (Arc::clone(&barrier), Arc::clone(&runs));
            let first_attempt = attempts.fetch_add(1, Ordering::Relaxed) == 0;
            Box::pin(async move {
                runs.fetch_add(1, Ordering::Relaxed);
                tx.execute(ctx, bump(rows.0)).await?;
                if first_attempt {
                    barrier.wait().await;
                }
                tx.execute(ctx, bump(rows.1)).await?;
                Ok(rows)
            })
        })
    };
    let (one, two) = tokio::join!(retried((1, 2)), retried((2, 1)));

    assert_eq!(one.expect("committed"), (1, 2));
    assert_eq!(two.expect("committed"), (2, 1));
    assert_eq!(runs.load(Ordering::Relaxed), 3, "the victim ran twice");
    assert_eq!(
        (counter(&stage, 1).await, counter(&stage, 2).await),
        (2, 2),
        "both transactions' bumps stand, once each"
    );
    stage.finish().await;
}

/// Runs [`read_then_bump`] through the helper on `pool`, with the outside write (through
/// `outside`) and then `pause()` in its first attempt only; counts its runs in `runs`.
async fn retried_read_then_bump<D: Driver>(
    ctx: &Ctx,
    pool: &Pool<D>,
    outside: &Pool<D>,
    runs: &AtomicU32,
    pause: impl Fn() -> Sleep + Send + Sync,
) -> Result<()> {
    let interference = Interference::default();
    let helper = pool.transaction(ctx, |ctx, tx| {
        let first = runs.fetch_add(1, Ordering::Relaxed) == 0;
        let interference = first.then(|| (interference.clone(), pause()));
        Box::pin(read_then_bump(ctx, tx, interference))
    });
    let (done, ()) = tokio::join!(helper, interference.write(ctx, outside));
    done
}

pub async fn the_retry_helper_runs_a_transaction_that_failed_to_serialize_again_and_commits_it<
    B: Backend,
>() {
    let stage = Stage::<B>::new(2).await;
    counters(&stage).await;
    let snapshots = stage.pool_with_session(1, B::SNAPSHOT_ISOLATION);
    let ctx = &stage.root.with_timeout(PATIENCE);
    let runs = AtomicU32::new(0);

    let done = retried_read_then_bump(ctx, &snapshots, &stage.pool, &runs, || {
        tokio::time::sleep(Duration::ZERO)
    })
    .await;

    done.expect("committed on the second attempt");
    assert_eq!(runs.load(Ordering::Relaxed), 2);
    assert_eq!(
        counter(&stage, 1).await,
        2,
        "the outside bump and the retried one"
    );
    snapshots.close();
    stage.finish().await;
}

pub async fn the_retry_helper_stops_when_the_deadline_leaves_no_room_and_reports_the_attempts<
    B: Backend,
>() {
    let stage = Stage::<B>::new(2).await;
    counters(&stage).await;
    let snapshots = stage.pool_with_session(1, B::SNAPSHOT_ISOLATION);
    let budget = Duration::from_secs(3);
    let ctx = &stage.root.with_timeout(budget);
    let deadline = ctx.deadline().expect("a deadline");
    let runs = AtomicU32::new(0);

    // The first attempt fails two thirds into the budget: what is left is less than the
    // attempt took, so another is not started.
    let error = retried_read_then_bump(ctx, &snapshots, &stage.pool, &runs, || {
        tokio::time::sleep_until(deadline - budget / 3)
    })
    .await
    .expect_err("no room for a second attempt");

    assert!(error.is_serialization_failure(), "{error}");
    let database = error.as_database_error().expect("a server error");
    assert_eq!(database.attempts(), 1);
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert!(
        !ctx.is_done(),
        "it gave up before the deadline, not at it: {error}"
    );
    assert_eq!(counter(&stage, 1).await, 1, "only the outside bump stands");
    snapshots.close();
    stage.finish().await;
}

pub async fn the_retry_helper_returns_other_errors_at_once<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(users()).await;
    family(&stage).await;
    let ctx = &stage.root.with_timeout(PATIENCE);
    let runs = AtomicU32::new(0);

    let error = stage
        .pool
        .transaction(ctx, |ctx, tx| {
            runs.fetch_add(1, Ordering::Relaxed);
            Box::pin(async move {
                User::new("inserted@example.com", None, 1)
                    .insert(ctx, &mut *tx)
                    .await?;
                tx.execute(
                    ctx,
                    "INSERT INTO parents (id, email) VALUES (2, 'ada@example.com')",
                )
                .await
                .map(drop)
            })
        })
        .await
        .expect_err("a duplicate");

    assert!(error.is_unique_violation(), "{error}");
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert_eq!(
        error
            .as_database_error()
            .map(|database| database.attempts()),
        Some(1)
    );
    let stored = User::query().count(ctx, &stage.pool).await.expect("count");
    assert_eq!(stored, 0, "the attempt was rolled back");
    stage.finish().await;
}

pub async fn row_not_found_names_a_models_table_and_not_raw_sqls<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    stage.setup(users()).await;
    let ctx = &stage.root.with_timeout(PATIENCE);

    let model = User::query()
        .one(ctx, &stage.pool)
        .await
        .expect_err("no users");
    let raw = stage
        .pool
        .fetch_one::<(i64,)>(ctx, "SELECT id FROM users")
        .await
        .expect_err("no rows");

    assert!(
        matches!(
            model,
            Error::RowNotFound {
                table: Some("users")
            }
        ),
        "{model:?}"
    );
    assert_eq!(model.to_string(), "no row of `users` matched");
    assert!(matches!(raw, Error::RowNotFound { table: None }), "{raw:?}");
    assert_eq!(raw.to_string(), "the query returned no rows");
    stage.finish().await;
}
