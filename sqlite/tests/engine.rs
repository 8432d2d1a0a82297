//! The engine's own view: a statement stopped by a deadline, a dropped future or a cancel
//! stops inside SQLite (a counter function it calls per row stops moving), the same
//! connection runs the next statement at once, and a stop never reaches a later statement.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use tethered_core::sea_query::Values;
use tethered_core::{
    Canceller, Connection, Ctx, DatabaseErrorKind, Driver, Error, Executor, Pool, PoolOptions,
    StatementOutcome,
};
use tethered_sqlite::Sqlite;
use tethered_sqlite::rusqlite::functions::FunctionFlags;

fn counters() -> &'static Mutex<HashMap<String, Arc<AtomicU64>>> {
    static COUNTERS: OnceLock<Mutex<HashMap<String, Arc<AtomicU64>>>> = OnceLock::new();
    COUNTERS.get_or_init(Default::default)
}

fn counter(marker: &str) -> Arc<AtomicU64> {
    Arc::clone(
        counters()
            .lock()
            .unwrap()
            .entry(marker.to_owned())
            .or_default(),
    )
}

fn file(name: &str) -> String {
    let dir = std::env::temp_dir().join("tethered-sqlite-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{name}-{}-{}.db",
        std::process::id(),
        rand_suffix()
    ));
    path.display().to_string()
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A driver on a new file whose connections have `tick(marker)`, counting calls.
fn driver(name: &str) -> Sqlite {
    Sqlite::from_url(&format!("sqlite://{}", file(name)))
        .unwrap()
        .on_open(|conn| {
            conn.create_scalar_function("tick", 1, FunctionFlags::SQLITE_UTF8, |call| {
                let marker: String = call.get(0)?;
                counter(&marker).fetch_add(1, Ordering::Relaxed);
                Ok(1_i64)
            })
        })
}

/// A CPU-bound statement that runs for minutes unless stopped, calling `tick` per row.
fn busy(marker: &str) -> String {
    format!(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE tick('{marker}') \
         AND x < 100000000000) SELECT count(*) FROM c"
    )
}

fn count(n: u32) -> String {
    format!(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
         SELECT count(*) FROM c"
    )
}

/// How long after `since` the counter stopped moving (it holds still for 50 ms).
async fn stopped_after(marker: &str, since: Instant) -> Duration {
    let counter = counter(marker);
    let mut last = counter.load(Ordering::Relaxed);
    let mut moved_at = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = counter.load(Ordering::Relaxed);
        if now != last {
            last = now;
            moved_at = Instant::now();
        } else if moved_at.elapsed() > Duration::from_millis(50) {
            return moved_at.saturating_duration_since(since);
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "`{marker}` never stopped"
        );
    }
}

/// How soon after what ended it a stopped statement must have stopped: far below the
/// statements' own length (minutes of busy work, a 30 s lock wait), so a lost stop fails;
/// far above any scheduling delay on a loaded two-core machine, so a slow one does not.
/// The milliseconds are printed.
const PROMPTLY: Duration = Duration::from_secs(2);

fn options(max: usize) -> PoolOptions {
    let defaults = PoolOptions::default();
    PoolOptions {
        max_connections: max,
        stop_wait: defaults.cancel_grace,
        ..defaults
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_stops_a_long_cpu_bound_statement_in_the_engine_and_the_connection_goes_on() {
    let pool = Pool::new(driver("deadline"), options(1)).unwrap();
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.unwrap();
    let request = root.with_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let error = connection
        .fetch_all::<(i64,)>(&request, busy("deadline"))
        .await
        .unwrap_err();
    let answered = start.elapsed();
    assert!(error.is_deadline_exceeded(), "{error:?}");
    assert_eq!(
        error.outcome(),
        Some(StatementOutcome::Stopped),
        "{error:?}"
    );
    let stopped = stopped_after("deadline", start).await;
    let next = Instant::now();
    let (n,): (i64,) = connection.fetch_one(&root, count(10)).await.unwrap();
    assert_eq!(n, 10);
    println!(
        "deadline 200 ms: answered at {answered:?}, counter stopped at {stopped:?}, next \
         statement on the same connection in {:?}",
        next.elapsed()
    );
    assert!(
        stopped < Duration::from_millis(200) + PROMPTLY,
        "{stopped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_future_stops_the_statement_in_the_engine() {
    let pool = Pool::new(driver("dropped"), options(1)).unwrap();
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.unwrap();
    let start = Instant::now();
    let dropped = tokio::time::timeout(
        Duration::from_millis(200),
        connection.fetch_all::<(i64,)>(&root, busy("dropped")),
    )
    .await;
    assert!(dropped.is_err(), "the statement finished");
    let stopped = stopped_after("dropped", start).await;
    let next = Instant::now();
    let (n,): (i64,) = connection.fetch_one(&root, count(10)).await.unwrap();
    assert_eq!(n, 10);
    println!(
        "dropped at 200 ms: counter stopped at {stopped:?}, next statement on the same \
         connection in {:?}",
        next.elapsed()
    );
    assert!(
        stopped < Duration::from_millis(200) + PROMPTLY,
        "{stopped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_stops_an_orphaned_statement_at_its_deadline() {
    let pool = Pool::new(driver("orphan"), options(1)).unwrap();
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.unwrap();
    let request = root.with_timeout(Duration::from_millis(200));
    let start = Instant::now();
    let mut statement = Box::pin(connection.fetch_all::<(i64,)>(&request, busy("orphan")));
    tokio::select! {
        _ = &mut statement => panic!("it finished"),
        () = tokio::time::sleep(Duration::from_millis(50)) => {}
    }
    // Neither polled nor dropped again: only the engine's own limit can stop it.
    std::mem::forget(statement);
    let stopped = stopped_after("orphan", start).await;
    println!("orphan with 200 ms left: the engine stopped it at {stopped:?}");
    assert!(stopped >= Duration::from_millis(200), "{stopped:?}");
    assert!(
        stopped < Duration::from_millis(200) + PROMPTLY,
        "{stopped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_another_connections_write_lock_ends_at_the_deadline() {
    let pool = Pool::new(
        driver("busy").busy_timeout(Duration::from_secs(30)),
        options(2),
    )
    .unwrap();
    let root = Ctx::background();
    pool.execute(&root, "CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    let mut holder = pool.acquire(&root).await.unwrap();
    holder.execute(&root, "BEGIN IMMEDIATE").await.unwrap();
    holder
        .execute(&root, "INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let mut writer = pool.acquire(&root).await.unwrap();
    let request = root.with_timeout(Duration::from_millis(300));
    let start = Instant::now();
    let error = writer
        .execute(&request, "INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    let answered = start.elapsed();
    println!(
        "a writer waiting for the lock with 300 ms left was answered at {answered:?}: {error}"
    );
    assert!(error.is_deadline_exceeded(), "{error:?}");
    assert_eq!(
        error.outcome(),
        Some(StatementOutcome::Stopped),
        "{error:?}"
    );
    assert!(
        answered < Duration::from_millis(300) + PROMPTLY,
        "{answered:?}"
    );
    holder.execute(&root, "COMMIT").await.unwrap();
    // The waiter is free and kept: it writes now.
    writer
        .execute(&root, "INSERT INTO t VALUES (3)")
        .await
        .unwrap();
    let (n,): (i64,) = writer
        .fetch_one(&root, "SELECT count(*) FROM t")
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_write_in_a_transaction_rolls_it_back_and_the_rest_is_refused() {
    let pool = Pool::new(driver("tx"), options(1)).unwrap();
    let root = Ctx::background();
    pool.execute(&root, "CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    let mut tx = pool.begin(&root).await.unwrap();
    (&mut tx)
        .execute(&root, "INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let request = root.with_timeout(Duration::from_millis(100));
    let insert = "INSERT INTO t WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                  WHERE tick('tx')) SELECT x FROM c";
    let error = (&mut tx).execute(&request, insert).await.unwrap_err();
    assert_eq!(
        error.outcome(),
        Some(StatementOutcome::Stopped),
        "{error:?}"
    );
    let refused = (&mut tx)
        .execute(&root, "INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("rolled back"), "{refused}");
    let commit = tx.commit(&root).await.unwrap_err();
    assert!(commit.to_string().contains("rolled back"), "{commit}");
    let (n,): (i64,) = pool
        .fetch_one(&root, "SELECT count(*) FROM t")
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing of the transaction stands");
}

/// Connections opened at once on a new file all open: the switch to WAL they contend for is
/// tried again (SQLite answers the loser `database is locked` at once, busy timeout or not;
/// 18 of 200 pairs of Python's sqlite3 connections failed so).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_opened_at_once_on_a_new_file_all_open_in_wal_mode() {
    let root = Ctx::background();
    for _ in 0..50 {
        let pool = Pool::new(driver("opened-at-once"), options(4)).unwrap();
        let opened = futures_util::future::join_all((0..4).map(|_| pool.acquire(&root))).await;
        for connection in opened {
            let mut connection = connection.expect("a connection opened at once with others");
            let (mode,): (String,) = connection
                .fetch_one(&root, "PRAGMA journal_mode")
                .await
                .unwrap();
            assert_eq!(mode, "wal");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_database_is_shared_by_the_pools_connections() {
    let pool = Pool::new(Sqlite::from_url("sqlite::memory:").unwrap(), options(2)).unwrap();
    let root = Ctx::background();
    let mut a = pool.acquire(&root).await.unwrap();
    let mut b = pool.acquire(&root).await.unwrap();
    a.execute(&root, "CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    a.execute(&root, "INSERT INTO t VALUES (7)").await.unwrap();
    let (x,): (i64,) = b.fetch_one(&root, "SELECT x FROM t").await.unwrap();
    assert_eq!(x, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_portable_kinds() {
    let pool = Pool::new(driver("errors"), options(1)).unwrap();
    let root = Ctx::background();
    pool.execute(
        &root,
        "CREATE TABLE p (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, n INTEGER \
         CONSTRAINT positive CHECK (n > 0))",
    )
    .await
    .unwrap();
    pool.execute(&root, "CREATE TABLE c (p INTEGER REFERENCES p(id))")
        .await
        .unwrap();
    pool.execute(&root, "INSERT INTO p VALUES (1, 'a', 1)")
        .await
        .unwrap();
    let kind = |e: Error| e.database_kind();
    let dup = pool
        .execute(&root, "INSERT INTO p VALUES (2, 'a', 1)")
        .await
        .unwrap_err();
    assert_eq!(dup.as_database_error().unwrap().column(), Some("email"));
    assert_eq!(kind(dup), Some(DatabaseErrorKind::UniqueViolation));
    let null = pool
        .execute(&root, "INSERT INTO p VALUES (3, NULL, 1)")
        .await
        .unwrap_err();
    assert_eq!(kind(null), Some(DatabaseErrorKind::NotNullViolation));
    let check = pool
        .execute(&root, "INSERT INTO p VALUES (4, 'b', 0)")
        .await
        .unwrap_err();
    assert_eq!(check.constraint(), Some("positive"));
    assert_eq!(kind(check), Some(DatabaseErrorKind::CheckViolation));
    let fk = pool
        .execute(&root, "INSERT INTO c VALUES (9)")
        .await
        .unwrap_err();
    assert_eq!(kind(fk), Some(DatabaseErrorKind::ForeignKeyViolation));
    let several = pool.execute(&root, "SELECT 1; SELECT 2").await.unwrap_err();
    assert!(matches!(several, Error::InvalidInput(_)), "{several:?}");
}

/// 2,000 trials on one raw connection: a stop races the end of a short statement, from
/// another thread, and keeps being sent while the next statement runs; the next statement
/// is never interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_racing_the_next_statement_never_reaches_it() {
    const TRIALS: u32 = 2_000;
    let driver = driver("race");
    let root = Ctx::background();
    let mut conn = driver.connect(&root).await.unwrap();
    let none = Values(Vec::new());
    let (mut stopped, mut completed, mut interrupts) = (0, 0, 0);
    let mut seed = 0x9e37_79b9_u64;
    for trial in 0..TRIALS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let rows = 100 + (seed % 4_000) as u32;
        let spin = Duration::from_micros(seed % 400);
        let canceller = conn.canceller();
        let first_sent = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let stopper = {
            let (first_sent, done) = (Arc::clone(&first_sent), Arc::clone(&done));
            std::thread::spawn(move || {
                let start = Instant::now();
                while start.elapsed() < spin {
                    std::hint::spin_loop();
                }
                while !done.load(Ordering::SeqCst) {
                    drop(canceller.cancel());
                    first_sent.store(true, Ordering::SeqCst);
                    std::thread::yield_now();
                }
                canceller
            })
        };
        match conn
            .fetch_stream(&root, &count(rows), &none)
            .try_collect::<Vec<_>>()
            .await
        {
            Ok(_) => completed += 1,
            Err(error) => {
                assert_eq!(
                    error.database_kind(),
                    Some(DatabaseErrorKind::Interrupted),
                    "trial {trial}: {error:?}"
                );
                stopped += 1;
            }
        }
        // As in core's protocol, the first request was made while the statement was in
        // flight; the later ones keep arriving while the next statement runs.
        while !first_sent.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let next = conn
            .fetch_stream(&root, &count(3_000), &none)
            .try_collect::<Vec<_>>()
            .await;
        done.store(true, Ordering::SeqCst);
        let canceller = stopper.join().unwrap();
        interrupts = canceller.interrupts_sent();
        let rows =
            next.unwrap_or_else(|error| panic!("trial {trial}: the next statement: {error:?}"));
        let n: i64 = tethered_core::Row::try_get(&rows[0], 0).unwrap();
        assert_eq!(n, 3_000, "trial {trial}");
    }
    println!(
        "{TRIALS} trials: {stopped} stopped, {completed} completed first, {interrupts} \
         interrupts sent in all, none reached the next statement"
    );
    assert!(
        stopped > 0 && completed > 0,
        "{stopped} stopped, {completed} completed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registered_sleep_is_cut_short_by_the_deadline() {
    let pool = Pool::new(driver("sleep"), options(1)).unwrap();
    let root = Ctx::background();
    pool.execute(&root, "CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    for sql in [
        "SELECT tethered_sleep(10)",
        "INSERT INTO t (x) SELECT 2 FROM (SELECT tethered_sleep(10) AS v) AS s WHERE v = 0",
    ] {
        let request = root.with_timeout(Duration::from_millis(200));
        let start = Instant::now();
        let result = pool.execute(&request, sql).await;
        println!("{sql}: {:?} after {:?}", result, start.elapsed());
        assert!(result.unwrap_err().is_deadline_exceeded());
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
