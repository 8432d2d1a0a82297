//! Rows read as the server sends them: memory stays flat, and every way a stream ends stops
//! its statement on the server, asserted on the server's own view of what runs. And bulk
//! writes: batches split under the server's limit on bound values.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use tethered::sea_query::{Alias, Table, TableCreateStatement};
use tethered::{Cause, Error, Executor, Model, PoolOptions, Sql, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::models::column;

/// A series longer than any test reads: it runs until it is stopped.
const ENDLESS: u64 = 10_000_000_000;

fn cancellation(error: Error) -> (Cause, StatementOutcome) {
    match error {
        Error::Canceled { cause, outcome } => (cause, outcome),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

/// The process's resident memory, in bytes, from `/proc/self/status`.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .expect("a VmRSS line");
    kilobytes * 1024
}

const MIB: u64 = 1024 * 1024;

pub async fn ten_million_streamed_rows_keep_memory_flat<B: Backend>() {
    // Alone: the resident memory is the whole process's.
    let stage = Stage::<B>::alone(1).await;
    let ctx = stage.root.with_timeout(Duration::from_secs(600));
    const ROWS: u64 = 10_000_000;
    // The connection, its buffers and the statement cache exist before the baseline.
    let warm: Vec<(i64,)> = stage
        .pool
        .fetch_all(&ctx, B::series(1000, "warm"))
        .await
        .expect("warm up");
    assert_eq!(warm.len(), 1000);

    let before = resident();
    let mut peak = before;
    let mut rows = stage
        .pool
        .fetch::<(i64,)>(&ctx, B::series(ROWS, &unique("flat")));
    let (mut count, mut sum) = (0u64, 0u64);
    let start = Instant::now();
    while let Some((value,)) = rows.try_next().await.expect("a row") {
        count += 1;
        sum += u64::try_from(value).expect("positive");
        if count % 100_000 == 0 {
            peak = peak.max(resident());
        }
    }
    let elapsed = start.elapsed();
    peak = peak.max(resident());
    let growth = peak.saturating_sub(before);
    println!(
        "{}: {count} rows streamed in {elapsed:?}; resident {} MiB before, {} MiB at peak \
         (growth {:.1} MiB)",
        B::NAME,
        before / MIB,
        peak / MIB,
        growth as f64 / MIB as f64
    );
    assert_eq!(count, ROWS);
    assert_eq!(sum, ROWS * (ROWS + 1) / 2);
    assert!(growth < 32 * MIB, "resident memory grew {growth} bytes");
    drop(rows);
    stage.finish().await;
}

/// What ends a stream mid-way.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Trigger {
    Deadline,
    Cancel,
}

/// Streams an endless series on a held connection until `trigger` ends it, and checks what
/// must hold anywhere: the stream yields the cause with the server's confirmation, then
/// ends; the statement is gone from the server's view; the same session runs the next
/// statement.
async fn stopped_mid_stream<B: Backend>(trigger: Trigger) {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let marker = unique("midstream");
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("session");
    let request = match trigger {
        Trigger::Deadline => root.with_timeout(Duration::from_millis(300)),
        Trigger::Cancel => root.child(),
    };
    let mut rows = connection.fetch::<(i64,)>(&request, B::series(ENDLESS, &marker));
    let mut read = 0u64;
    let error = loop {
        match rows.next().await.expect("rows until the stop") {
            Ok(_) => read += 1,
            Err(error) => break error,
        }
        if trigger == Trigger::Cancel && read == 1000 {
            request.cancel("enough rows");
        }
    };
    let returned = Instant::now();
    assert!(
        rows.next().await.is_none(),
        "the stream ends after the error"
    );
    drop(rows);
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    let (cause, outcome) = cancellation(error);
    let after = connection.fetch_one::<(u64,)>(root, B::SESSION_ID).await;
    println!(
        "{} {trigger:?} mid-stream: {read} rows read, then {cause:?} / {outcome:?}; gone from \
         the server {gone:?} after the error",
        B::NAME
    );
    match trigger {
        Trigger::Deadline => {
            assert_eq!(cause, Cause::DeadlineExceeded);
            let late = returned.duration_since(request.deadline().expect("a deadline"));
            assert!(late <= PROMPTLY, "returned {late:?} after the deadline");
        }
        Trigger::Cancel => {
            assert_eq!(cause.reason(), Some("enough rows"));
            assert_eq!(read, 1000, "no row once the context ended");
        }
    }
    assert!(read > 0, "rows flowed before the stop");
    assert_eq!(outcome, StatementOutcome::Stopped);
    // A deadline is also the server's own limit (512 ms for 300): on a starved machine it
    // may stop the statement first, and the connection is then closed by design, since our
    // stop request may still be on its way.
    match after {
        Err(Error::Connection { .. }) if trigger == Trigger::Deadline => {}
        after => {
            let (same,) = after.expect("the same connection runs the next statement");
            assert_eq!(same, session, "the connection was kept");
        }
    }
    drop(connection);
    stage.finish().await;
}

pub async fn a_deadline_mid_stream_stops_the_statement_on_the_server<B: Backend>() {
    stopped_mid_stream::<B>(Trigger::Deadline).await;
}

pub async fn an_explicit_cancel_mid_stream_stops_the_statement_on_the_server<B: Backend>() {
    stopped_mid_stream::<B>(Trigger::Cancel).await;
}

pub async fn a_stream_dropped_after_ten_rows_stops_the_statement_and_the_connection_runs_on<
    B: Backend,
>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let marker = unique("dropped");
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("session");
    let rows = connection.fetch::<(i64,)>(root, B::series(ENDLESS, &marker));
    let first: Vec<(i64,)> = rows.take(10).try_collect().await.expect("ten rows");
    assert_eq!(first, (1..=10).map(|n| (n,)).collect::<Vec<_>>());
    // `take` dropped the stream after the tenth row.
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    let next = Instant::now();
    let (same,) = connection
        .fetch_one::<(u64,)>(root, B::SESSION_ID)
        .await
        .expect("the next statement on the connection");
    println!(
        "{}: dropped after 10 rows, gone from the server {gone:?} later, next statement {:?}",
        B::NAME,
        next.elapsed()
    );
    assert_eq!(
        same, session,
        "the connection was kept: the stop was confirmed"
    );
    drop(connection);
    stage.finish().await;
}

pub async fn a_stream_on_the_pool_dropped_part_way_returns_its_connection<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let marker = unique("pooled");
    let mut rows = stage
        .pool
        .fetch::<(i64,)>(root, B::series(ENDLESS, &marker));
    assert_eq!(rows.try_next().await.expect("a row"), Some((1,)));
    drop(rows);
    stage.time_until_gone(&marker, PROMPTLY).await;
    // The pool's only connection is back once its stop is confirmed.
    let (one,): (i64,) = stage
        .pool
        .fetch_one(root, "SELECT 1")
        .await
        .expect("the pool serves the next statement");
    assert_eq!(one, 1);
    stage.finish().await;
}

pub async fn fetch_all_of_a_flood_obeys_its_deadline_between_rows<B: Backend>() {
    let stage = Stage::<B>::alone(1).await;
    // The default pool options: the caller gets control back at its deadline (plus the
    // stop wait) however long the server takes to confirm.
    let pool = stage.pool_with(PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    });
    let marker = unique("flood");
    // The connection is open before the clock starts.
    pool.execute(&stage.root, "SELECT 1")
        .await
        .expect("warm up");
    let deadline = Duration::from_millis(200);
    let request = stage.root.with_timeout(deadline);
    let start = Instant::now();
    let result = pool
        .fetch_all::<(i64,)>(&request, B::series(20_000_000, &marker))
        .await;
    let returned = start.elapsed();
    let (cause, outcome) = cancellation(result.expect_err("20 million rows take longer"));
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    println!(
        "{}: fetch_all of 20M rows under a {deadline:?} deadline returned after {returned:?} \
         ({:?} after the deadline) with {cause:?} / {outcome:?}; gone from the server {gone:?} \
         after that",
        B::NAME,
        returned.saturating_sub(deadline)
    );
    assert_eq!(cause, Cause::DeadlineExceeded);
    assert!(
        returned <= deadline + Duration::from_millis(250),
        "returned {returned:?} after the start"
    );
    pool.close();
    stage.finish().await;
}

/// A reading of five stored columns: 100,000 of them bind 500,000 values, far over any
/// server's limit for one statement.
#[derive(Model, Debug, Clone, PartialEq)]
#[tethered(table = "readings")]
pub struct Reading {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    pub sensor: String,
    pub at: i64,
    pub value: f64,
    pub ok: bool,
    pub note: Option<String>,
}

/// `readings`, whose `id` is PostgreSQL's `bigserial` (a sequence `readings_id_seq`).
pub fn readings() -> TableCreateStatement {
    Table::create()
        .table(Alias::new("readings"))
        .col(
            column("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(column("sensor").string().not_null())
        .col(column("at").big_integer().not_null())
        .col(column("value").double().not_null())
        .col(column("ok").boolean().not_null())
        .col(column("note").string())
        .to_owned()
}

/// The `n`th reading of a batch, not stored yet.
pub fn reading(n: i64) -> Reading {
    Reading {
        id: 0,
        sensor: format!("sensor-{}", n % 17),
        at: n,
        value: n as f64 / 4.0,
        ok: n % 3 != 0,
        note: (n % 5 == 0).then(|| format!("note {n}")),
    }
}

pub async fn insert_many_of_a_hundred_thousand_rows_splits_under_the_parameter_limit<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(readings()).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(300));
    const ROWS: i64 = 100_000;
    let batch: Vec<Reading> = (1..=ROWS).map(reading).collect();

    // In a transaction, every statement of the split batch is in it.
    let mut tx = stage.pool.begin(ctx).await.expect("begin");
    let start = Instant::now();
    let inserted = Reading::insert_many(ctx, &mut tx, &batch)
        .await
        .expect("insert_many in a transaction");
    let took = start.elapsed();
    assert_eq!(inserted, ROWS as u64);
    let seen = Reading::query().count(ctx, &mut tx).await.expect("count");
    assert_eq!(seen, ROWS as u64, "the transaction sees its rows");
    tx.rollback(ctx).await.expect("rollback");
    let left = Reading::query()
        .count(ctx, &stage.pool)
        .await
        .expect("count");
    assert_eq!(left, 0, "the rollback took every statement of the batch");

    // On the pool, each statement commits by itself.
    let inserted = Reading::insert_many(ctx, &stage.pool, &batch)
        .await
        .expect("insert_many on the pool");
    assert_eq!(inserted, ROWS as u64);
    let stored: Vec<Reading> = Reading::query()
        .order_by(Reading::AT.asc())
        .all(ctx, &stage.pool)
        .await
        .expect("read back");
    println!(
        "{}: insert_many of {ROWS} rows of 5 columns in a transaction took {took:?}",
        B::NAME
    );
    assert_eq!(stored.len(), ROWS as usize);
    for (stored, sent) in stored.iter().zip(&batch) {
        assert_eq!(
            Reading {
                id: 0,
                ..stored.clone()
            },
            *sent
        );
    }
    stage.finish().await;
}

pub async fn insert_many_returning_gives_back_the_stored_rows_in_order<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(readings()).await;
    let ctx = &stage.root.with_timeout(Duration::from_secs(120));
    let batch: Vec<Reading> = (1..=500).map(reading).collect();
    let stored = Reading::insert_many_returning(ctx, &stage.pool, &batch)
        .await
        .expect("insert_many_returning");
    assert_eq!(stored.len(), batch.len());
    for (stored, sent) in stored.iter().zip(&batch) {
        assert!(stored.id > 0, "a generated key");
        assert_eq!(
            Reading {
                id: 0,
                ..stored.clone()
            },
            *sent
        );
        let found = Reading::find(ctx, &stage.pool, stored.id)
            .await
            .expect("find");
        assert_eq!(found.as_ref(), Some(stored));
    }
    let empty = Reading::insert_many_returning(ctx, &stage.pool, &[])
        .await
        .expect("nothing to insert");
    assert!(empty.is_empty());
    stage.finish().await;
}

pub async fn a_statement_over_the_parameter_limit_is_invalid_input_and_sends_nothing<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("session");
    let limit = <B::Driver as tethered::Driver>::MAX_PARAMETERS;
    let placeholders: Vec<String> = (1..=limit + 1).map(B::placeholder).collect();
    let mut sql = Sql::new(format!("SELECT 1 WHERE 1 IN ({})", placeholders.join(", ")));
    for n in 0..=limit {
        sql = sql.bind(n as i64);
    }
    let error = connection
        .fetch_all::<(i64,)>(root, sql)
        .await
        .expect_err("over the limit");
    assert!(
        matches!(&error, Error::InvalidInput(message) if message.contains(&limit.to_string())),
        "{error:?}"
    );
    let (same,) = connection
        .fetch_one::<(u64,)>(root, B::SESSION_ID)
        .await
        .expect("the connection is untouched");
    assert_eq!(same, session);

    // A model wider than the limit cannot exist (no server has 65,535 columns), so a batch
    // insert always splits; at the limit exactly, one statement goes through.
    let placeholders: Vec<String> = (1..=limit).map(B::placeholder).collect();
    let mut sql = Sql::new(format!("SELECT 1 WHERE 1 IN ({})", placeholders.join(", ")));
    for n in 0..limit {
        sql = sql.bind(n as i64);
    }
    let rows: Vec<(i64,)> = connection.fetch_all(root, sql).await.expect("at the limit");
    assert_eq!(rows, vec![(1,)]);
    drop(connection);
    stage.finish().await;
}
