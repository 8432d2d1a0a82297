//! PostgreSQL's bulk load (`CopyIn`: `COPY ... FROM STDIN (FORMAT binary)`): rows copied read
//! back equal, in a transaction too; a copy stopped part-way (a deadline, a cancel, a
//! dropped future) stores nothing, is gone from the server's view, and its connection runs
//! the next statement; a value its column cannot take is refused before any row is sent.
//!
//! Which rows reached the server is read from the `id` column's sequence: `nextval` is not
//! rolled back, so the sequence counts every row the server began to insert, stored or not.

use std::time::Duration;

use tethered::postgres::{CopyIn, Postgres as PgDriver};
use tethered::{Cause, Error, Executor, Model, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::streaming::{Reading, reading, readings};

/// A copy of this many rows goes in at once, by the test's measure.
const ROWS: i64 = 100_000;

/// The row at which the table's trigger holds a copy on the server, for ten minutes.
const HELD_AT: i64 = 500;

/// A stage whose `readings` table has a trigger that holds a copy at row [`HELD_AT`] for
/// minutes: a stop that is lost leaves the copy running.
async fn holding<B: Backend<Driver = PgDriver>>() -> Stage<B> {
    let stage = Stage::<B>::new(2).await;
    stage.setup(readings()).await;
    stage
        .setup(format!(
            "CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.at = {HELD_AT} THEN PERFORM pg_sleep(600); END IF; RETURN NEW; END $$"
        ))
        .await;
    stage
        .setup("CREATE TRIGGER hold BEFORE INSERT ON readings FOR EACH ROW EXECUTE FUNCTION hold()")
        .await;
    stage
}

/// How many readings are stored.
async fn stored<B: Backend<Driver = PgDriver>>(stage: &Stage<B>) -> u64 {
    Reading::query()
        .count(&stage.root, &stage.pool)
        .await
        .expect("count")
}

/// How many rows reached the server, stored or not: the `id` sequence's last value, 0 if
/// it was never used.
async fn reached_the_server<B: Backend<Driver = PgDriver>>(stage: &Stage<B>) -> i64 {
    let (last, used): (i64, bool) = stage
        .pool
        .fetch_one(
            &stage.root,
            "SELECT last_value, is_called FROM readings_id_seq",
        )
        .await
        .expect("the sequence");
    if used { last } else { 0 }
}

/// Waits until the copy carrying `marker` is held by the trigger: mid-way, for minutes, and
/// in the server's view.
async fn held<B: Backend<Driver = PgDriver>>(stage: &Stage<B>, marker: &str) {
    let start = Instant::now();
    while reached_the_server(stage).await < HELD_AT {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the copy never reached row {HELD_AT}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        stage.running(marker).await,
        1,
        "the copy is in the server's view"
    );
}

/// Every stored reading, in the order of the batch, without its generated key.
async fn read_back<B: Backend<Driver = PgDriver>>(stage: &Stage<B>) -> Vec<Reading> {
    let stored: Vec<Reading> = Reading::query()
        .order_by(Reading::AT.asc())
        .all(&stage.root, &stage.pool)
        .await
        .expect("read back");
    stored
        .into_iter()
        .map(|reading| Reading { id: 0, ..reading })
        .collect()
}

pub async fn a_hundred_thousand_copied_rows_read_back_equal<B: Backend<Driver = PgDriver>>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(readings()).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(300));
    let batch: Vec<Reading> = (1..=ROWS).map(reading).collect();

    // In a transaction, the copy is part of it.
    let mut tx = stage.pool.begin(ctx).await.expect("begin");
    let copied = Reading::copy_in(ctx, &mut tx, &batch)
        .await
        .expect("a copy in a transaction");
    assert_eq!(copied, ROWS as u64);
    let seen = Reading::query().count(ctx, &mut tx).await.expect("count");
    assert_eq!(seen, ROWS as u64, "the transaction sees its rows");
    tx.rollback(ctx).await.expect("rollback");
    assert_eq!(stored(&stage).await, 0, "the rollback took the copy");

    let start = Instant::now();
    let copied = Reading::copy_in(ctx, &stage.pool, &batch)
        .await
        .expect("a copy on the pool");
    let took = start.elapsed();
    assert_eq!(copied, ROWS as u64);
    println!(
        "{}: copy_in of {ROWS} rows of 5 columns on the pool took {took:?}",
        B::NAME
    );
    assert!(read_back(&stage).await == batch, "the rows read back equal");

    let nothing = Reading::copy_in(ctx, &stage.pool, &[])
        .await
        .expect("nothing to copy");
    assert_eq!(nothing, 0);
    stage.finish().await;
}

/// What ends a copy part-way.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    Deadline,
    Cancel,
    Drop,
}

/// How much a stopped copy has to send.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Batch {
    /// 10,000 rows of 4 KiB, larger than any socket buffer: when the stop comes, the client
    /// is still writing rows, and gives the copy up (`CopyFail`) as well as the server
    /// stopping it.
    Large,
    /// 1,000 short rows, which the socket buffers take whole: when the stop comes, the
    /// client has sent the copy's end and waits for the server's answer, which only the
    /// server's stop can change.
    Small,
}

impl Batch {
    fn readings(self) -> Vec<Reading> {
        match self {
            Batch::Large => {
                let note = "n".repeat(4096);
                (1..=10_000)
                    .map(|n| Reading {
                        note: Some(note.clone()),
                        ..reading(n)
                    })
                    .collect()
            }
            Batch::Small => (1..=1000).map(reading).collect(),
        }
    }
}

/// Copies `batch` into a table whose trigger holds the copy at row [`HELD_AT`], on a held
/// connection, until `stop` ends it; then checks what must hold anywhere: the caller gets
/// the cause with the server's confirmation, the copy is gone from the server's view, rows
/// had reached the server and none is stored, and the same session runs the next
/// statement.
async fn stopped_mid_copy<B: Backend<Driver = PgDriver>>(stop: Stop, batch: Batch) {
    let stage = holding::<B>().await;
    let root = &stage.root;
    let marker = unique("copy");
    let readings = batch.readings();
    let (mut connection, session) = stage.held_connection().await;
    let request = match stop {
        // Ample for 500 rows to reach the server on a loaded machine; the copy is held far
        // longer.
        Stop::Deadline => root.with_timeout(Duration::from_secs(2)),
        Stop::Cancel | Stop::Drop => root.child(),
    };
    let copy = Reading::copy_in_with_comment(&request, &mut connection, &readings, &marker);
    let result = match stop {
        Stop::Deadline => Some(copy.await),
        Stop::Cancel => {
            let cancel = async {
                held(&stage, &marker).await;
                request.cancel("enough rows");
            };
            Some(tokio::join!(copy, cancel).0)
        }
        Stop::Drop => tokio::select! {
            result = copy => panic!("the copy ended by itself: {result:?}"),
            () = held(&stage, &marker) => None,
        },
    };
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    let reached = reached_the_server(&stage).await;
    assert!(
        reached >= HELD_AT,
        "the copy was stopped part-way: {reached} rows had reached the server"
    );
    assert_eq!(stored(&stage).await, 0, "a stopped copy stores nothing");
    println!(
        "{} {stop:?} mid-copy ({batch:?} batch): {reached} rows had reached the server, none \
         stored; gone from the server {gone:?} after the caller's return; {result:?}",
        B::NAME
    );
    if let Some(result) = result {
        match result.expect_err("the copy is held for minutes") {
            Error::Canceled { cause, outcome } => {
                match stop {
                    Stop::Deadline => assert_eq!(cause, Cause::DeadlineExceeded),
                    _ => assert_eq!(cause.reason(), Some("enough rows")),
                }
                assert_eq!(outcome, StatementOutcome::Stopped);
            }
            other => panic!("expected a cancellation, got {other:?}"),
        }
    }
    // A deadline is also the server's own limit: on a starved machine it may stop the copy
    // first, and the connection is then closed by design, since our stop request may still
    // be on its way.
    match connection.fetch_one::<(u64,)>(root, B::SESSION_ID).await {
        Err(Error::Connection { .. }) if stop == Stop::Deadline => {}
        after => {
            let (same,) = after.expect("the same connection runs the next statement");
            assert_eq!(same, session, "the connection was kept");
        }
    }
    drop(connection);
    stage.finish().await;
}

pub async fn a_deadline_mid_copy_stops_it_and_stores_nothing<B: Backend<Driver = PgDriver>>() {
    stopped_mid_copy::<B>(Stop::Deadline, Batch::Large).await;
}

pub async fn an_explicit_cancel_mid_copy_stops_it_and_stores_nothing<
    B: Backend<Driver = PgDriver>,
>() {
    stopped_mid_copy::<B>(Stop::Cancel, Batch::Large).await;
}

pub async fn a_cancel_while_a_small_copy_is_held_stops_it_and_stores_nothing<
    B: Backend<Driver = PgDriver>,
>() {
    stopped_mid_copy::<B>(Stop::Cancel, Batch::Small).await;
}

pub async fn a_copy_future_dropped_mid_copy_stops_it_and_stores_nothing<
    B: Backend<Driver = PgDriver>,
>() {
    stopped_mid_copy::<B>(Stop::Drop, Batch::Large).await;
}

/// A copy in a transaction, stopped part-way (given up by the client, stopped by the
/// server), leaves the transaction to roll back: nothing stored, and the pool's connection
/// serves the next statement.
pub async fn a_copy_stopped_in_a_transaction_leaves_it_to_roll_back<
    B: Backend<Driver = PgDriver>,
>() {
    let stage = holding::<B>().await;
    let root = &stage.root;
    let marker = unique("copytx");
    let readings = Batch::Large.readings();
    let mut tx = stage.pool.begin(root).await.expect("begin");
    let request = root.child();
    let copy = Reading::copy_in_with_comment(&request, &mut tx, &readings, &marker);
    let cancel = async {
        held(&stage, &marker).await;
        request.cancel("enough rows");
    };
    let (copied, ()) = tokio::join!(copy, cancel);
    match copied.expect_err("the copy is held for minutes") {
        Error::Canceled { cause, outcome } => {
            assert_eq!(cause.reason(), Some("enough rows"));
            assert_eq!(outcome, StatementOutcome::Stopped);
        }
        other => panic!("expected a cancellation, got {other:?}"),
    }
    stage.time_until_gone(&marker, PROMPTLY).await;
    tx.rollback(root).await.expect("rollback");
    assert_eq!(stored(&stage).await, 0, "a stopped copy stores nothing");
    let (one,): (i32,) = stage
        .pool
        .fetch_one(root, "SELECT 1")
        .await
        .expect("the pool's connection serves the next statement");
    assert_eq!(one, 1);
    stage.finish().await;
}

/// A reading whose `at` is unsigned: a `u64` over `bigint`'s range has no place in the
/// column.
#[derive(Model, Debug, Clone)]
#[tethered(table = "readings")]
pub struct UnsignedReading {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    pub sensor: String,
    pub at: u64,
    pub value: f64,
    pub ok: bool,
    pub note: Option<String>,
}

pub async fn a_value_its_column_cannot_take_is_invalid_input_and_no_row_is_sent<
    B: Backend<Driver = PgDriver>,
>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(readings()).await;
    let root = &stage.root;
    let (mut connection, session) = stage.held_connection().await;
    // Far into the batch: the rows before it are refused too.
    let batch: Vec<UnsignedReading> = (0..ROWS as u64)
        .map(|n| UnsignedReading {
            id: 0,
            sensor: "s".to_owned(),
            at: if n == 49_999 { u64::MAX } else { n },
            value: 0.5,
            ok: true,
            note: None,
        })
        .collect();
    let error = UnsignedReading::copy_in(root, &mut connection, &batch)
        .await
        .expect_err("u64::MAX does not fit a bigint");
    let Error::InvalidInput(message) = &error else {
        panic!("expected invalid input, got {error:?}");
    };
    assert!(
        message.contains("model 49999")
            && message.contains("column `at`")
            && message.contains("18446744073709551615"),
        "the message names the model, the column and the value: {message}"
    );
    assert_eq!(reached_the_server(&stage).await, 0, "no row was sent");
    let (same,) = connection
        .fetch_one::<(u64,)>(root, B::SESSION_ID)
        .await
        .expect("the connection is untouched");
    assert_eq!(same, session);
    drop(connection);
    stage.finish().await;
}
