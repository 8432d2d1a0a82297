//! Every way a statement can be stopped, asserted on `information_schema.PROCESSLIST`.

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder};
use tethered_core::{
    Canceller, Cause, Connection, Ctx, Driver, Error, Executor, Pool, PoolOptions, Sql,
    StatementOutcome,
};
use tethered_mysql::MySql;
use tokio::time::Instant;

use crate::support::{Observer, Random, pool, unique, url};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// What ends the statement, 100 ms in.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    Deadline,
    Cancel,
    ParentCancel,
    DroppedByTimeout,
    DroppedBySelect,
}

/// A statement that runs until it is stopped.
#[derive(Clone, Copy, Debug)]
enum Workload {
    /// `SELECT SLEEP(10)`: waits. A kill ends it with error 1317.
    Sleep,
    /// A cross join of 10^10 rows: CPU-bound. A kill ends it with error 1317.
    CrossJoin,
    /// `BENCHMARK()`: CPU-bound, and a kill makes it return 0 as if it had finished, so the
    /// stop cannot be confirmed.
    Benchmark,
}

impl Workload {
    fn sql(self, marker: &str) -> String {
        match self {
            Workload::Sleep => format!("SELECT SLEEP(10) /* {marker} */"),
            Workload::CrossJoin => {
                format!("SELECT count(*) FROM seq_1_to_100000 a, seq_1_to_100000 b /* {marker} */")
            }
            Workload::Benchmark => {
                format!("SELECT BENCHMARK(10000000000, MD5('x')) /* {marker} */")
            }
        }
    }

    fn confirms_the_stop(self) -> bool {
        !matches!(self, Workload::Benchmark)
    }
}

/// Runs `workload` on a held connection, ends it with `trigger` after 100 ms, and checks:
/// the caller gets the cause within 50 ms of the trigger, the statement is gone from
/// PROCESSLIST within 50 ms after that, and the same connection then runs a statement at
/// once — or, when the statement swallowed the kill, the connection was closed and the
/// pool opens another.
async fn stop(workload: Workload, trigger: Trigger) {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("stop");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let sql = workload.sql(&marker);
    let start = Instant::now();

    let running = observer.wait_running(&marker, Duration::from_secs(5));
    // When the trigger fired: the deadline, or the moment of the cancel (a sleeping task
    // may wake late on a busy machine; that is the test's delay, not tethered's).
    let triggered = std::sync::OnceLock::new();
    let result = match trigger {
        Trigger::Deadline => {
            let scope = background.with_timeout(ms(100));
            let _ = triggered.set(scope.deadline().expect("a deadline"));
            tokio::join!(connection.execute(&scope, sql.as_str()), running).0
        }
        Trigger::Cancel => {
            let scope = background.child();
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                let _ = triggered.set(Instant::now());
                scope.cancel("user pressed stop");
            };
            tokio::join!(connection.execute(&scope, sql.as_str()), running, cancel).0
        }
        Trigger::ParentCancel => {
            let request = background.child();
            let stage = request.with_timeout(Duration::from_secs(60));
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                let _ = triggered.set(Instant::now());
                request.cancel("request aborted");
            };
            tokio::join!(connection.execute(&stage, sql.as_str()), running, cancel).0
        }
        Trigger::DroppedByTimeout => {
            let statement =
                tokio::time::timeout(ms(100), connection.execute(&background, sql.as_str()));
            let (timed_out, ()) = tokio::join!(statement, running);
            assert!(timed_out.is_err(), "the timeout dropped the statement");
            Err(Error::InvalidInput("dropped".into()))
        }
        Trigger::DroppedBySelect => {
            let statement = connection.execute(&background, sql.as_str());
            let ((), ()) = tokio::join!(
                async {
                    tokio::select! {
                        _ = statement => panic!("{workload:?} finished"),
                        () = tokio::time::sleep(ms(100)) => {}
                    }
                },
                running
            );
            Err(Error::InvalidInput("dropped".into()))
        }
    };
    let after_trigger = triggered.get().map(|at| at.elapsed());
    let returned = start.elapsed();
    let gone = observer
        .time_until_gone(&marker, Duration::from_secs(5))
        .await;
    let next = Instant::now();
    let after = connection
        .fetch_one::<(u64,)>(&background, "SELECT CONNECTION_ID()")
        .await;
    let next = next.elapsed();
    println!(
        "{workload:?} / {trigger:?}: returned after {returned:?} ({after_trigger:?} after the \
         trigger); gone from PROCESSLIST {gone:?} later; next statement took {next:?}"
    );

    let expected_outcome = if workload.confirms_the_stop() {
        StatementOutcome::Stopped
    } else {
        StatementOutcome::Completed
    };
    match trigger {
        Trigger::Deadline | Trigger::Cancel | Trigger::ParentCancel => {
            let Err(Error::Canceled { cause, outcome }) = result else {
                panic!("{trigger:?}: expected a cancellation, got {result:?}");
            };
            let expected = match trigger {
                Trigger::Deadline => None,
                Trigger::Cancel => Some("user pressed stop"),
                _ => Some("request aborted"),
            };
            assert_eq!(cause.reason(), expected, "{cause:?}");
            assert_eq!(
                cause == Cause::DeadlineExceeded,
                matches!(trigger, Trigger::Deadline)
            );
            assert_eq!(outcome, expected_outcome, "{workload:?} / {trigger:?}");
            let after_trigger = after_trigger.expect("the trigger fired");
            assert!(
                after_trigger <= ms(50),
                "{workload:?} / {trigger:?}: returned {after_trigger:?} after the trigger"
            );
        }
        Trigger::DroppedByTimeout | Trigger::DroppedBySelect => {}
    }
    assert!(
        gone <= ms(50),
        "{workload:?} / {trigger:?}: still running {gone:?} after the return"
    );
    // A kill the statement swallowed may still be pending, so its connection is closed. So
    // is one whose statement the server's own limit (128 ms for a 100 ms deadline) stopped
    // first, which happens only when the kill comes late, as on a starved machine.
    let closed_by_design = !workload.confirms_the_stop()
        || (matches!(trigger, Trigger::Deadline) && returned >= ms(128) && after.is_err());
    if closed_by_design {
        assert!(matches!(after, Err(Error::Connection { .. })), "{after:?}");
        let closed = observer.time_until_closed(id, Duration::from_secs(5)).await;
        drop(connection);
        let (new_id,): (u64,) = pool
            .fetch_one(&background, "SELECT CONNECTION_ID()")
            .await
            .expect("the pool opens a new connection");
        assert_ne!(new_id, id);
        println!(
            "{workload:?} / {trigger:?}: old connection closed on the server {closed:?} later"
        );
    } else {
        let (same_id,) = after.expect("the same connection runs the next statement");
        assert_eq!(same_id, id, "{trigger:?}: the connection was kept");
        assert!(
            next < ms(100),
            "{workload:?} / {trigger:?}: the next statement waited {next:?}"
        );
    }
}

macro_rules! stop_tests {
    ($($name:ident: $workload:ident, $trigger:ident;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            stop(Workload::$workload, Trigger::$trigger).await;
        }
    )*};
}

stop_tests! {
    a_deadline_stops_a_sleep_on_the_server: Sleep, Deadline;
    an_explicit_cancel_stops_a_sleep_on_the_server: Sleep, Cancel;
    a_parent_cancel_stops_a_sleep_on_the_server: Sleep, ParentCancel;
    a_future_dropped_by_timeout_stops_a_sleep_on_the_server: Sleep, DroppedByTimeout;
    a_future_dropped_by_select_stops_a_sleep_on_the_server: Sleep, DroppedBySelect;
    a_deadline_stops_a_cross_join_on_the_server: CrossJoin, Deadline;
    an_explicit_cancel_stops_a_cross_join_on_the_server: CrossJoin, Cancel;
    a_parent_cancel_stops_a_cross_join_on_the_server: CrossJoin, ParentCancel;
    a_future_dropped_by_timeout_stops_a_cross_join_on_the_server: CrossJoin, DroppedByTimeout;
    a_future_dropped_by_select_stops_a_cross_join_on_the_server: CrossJoin, DroppedBySelect;
    a_deadline_stops_a_benchmark_and_closes_its_connection: Benchmark, Deadline;
    an_explicit_cancel_stops_a_benchmark_and_closes_its_connection: Benchmark, Cancel;
    a_future_dropped_by_select_stops_a_benchmark_and_closes_its_connection: Benchmark, DroppedBySelect;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_done_context_sends_nothing() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("sent");
    observer
        .execute(&format!("CREATE TABLE {table} (n int) ENGINE=InnoDB"))
        .await;
    let scope = Ctx::background().child();
    let mut connection = pool.acquire(&scope).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&scope, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let before = observer.last_query_id(id).await;
    scope.cancel("too late");
    let insert = format!("INSERT INTO {table} VALUES (1)");

    let held = connection.execute(&scope, insert.as_str()).await;
    let pooled = pool.execute(&scope, insert.as_str()).await;
    let in_transaction = pool.begin(&scope).await;

    for result in [held.map(drop), pooled.map(drop), in_transaction.map(drop)] {
        let Err(Error::Canceled { cause, outcome }) = result else {
            panic!("expected a cancellation, got {result:?}");
        };
        assert_eq!(cause.reason(), Some("too late"));
        assert_eq!(outcome, StatementOutcome::NotSent);
    }
    assert_eq!(
        observer.last_query_id(id).await,
        before,
        "the server saw a statement on the held connection"
    );
    let rows: i64 = observer
        .query_one(&format!("SELECT count(*) FROM {table}"))
        .await;
    assert_eq!(rows, 0, "the server saw an insert");
    observer.execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquiring_from_a_busy_pool_ends_with_the_contexts_cause_at_its_deadline() {
    let pool = pool(1).await;
    let _busy = pool.acquire(&Ctx::background()).await.expect("acquire");
    let scope = Ctx::background().with_timeout(ms(150));
    let start = Instant::now();

    let waited = pool.acquire(&scope).await;

    let elapsed = start.elapsed();
    let Err(Error::Canceled { cause, outcome }) = waited else {
        panic!("expected the deadline, got {waited:?}");
    };
    assert_eq!(
        (cause, outcome),
        (Cause::DeadlineExceeded, StatementOutcome::NotSent)
    );
    assert!(
        elapsed >= ms(150) && elapsed < ms(250),
        "waited {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_works_while_every_pooled_connection_is_busy() {
    let pool = pool(2).await;
    let observer = Observer::connect().await;
    let background = Ctx::background();
    let mut first = pool.acquire(&background).await.expect("acquire");
    let mut second = pool.acquire(&background).await.expect("acquire");
    let short = background.with_timeout(ms(50));
    let refused = pool.acquire(&short).await;
    assert!(
        refused.as_ref().is_err_and(Error::is_deadline_exceeded),
        "the pool is exhausted: {refused:?}"
    );
    let markers = [unique("busy"), unique("busy")];
    let sleeps = markers
        .clone()
        .map(|marker| format!("SELECT SLEEP(10) /* {marker} */"));
    let request = background.child();

    let cancel = async {
        observer
            .wait_running(&markers[0], Duration::from_secs(5))
            .await;
        observer
            .wait_running(&markers[1], Duration::from_secs(5))
            .await;
        request.cancel("shutting down");
        Instant::now()
    };
    let (one, two, cancelled_at) = tokio::join!(
        first.execute(&request, sleeps[0].as_str()),
        second.execute(&request, sleeps[1].as_str()),
        cancel
    );
    let returned = cancelled_at.elapsed();
    let mut gone = Duration::ZERO;
    for marker in &markers {
        gone = gone.max(
            observer
                .time_until_gone(marker, Duration::from_secs(5))
                .await,
        );
    }
    println!("both returned {returned:?} after the cancel; gone {gone:?} after that");

    for result in [one, two] {
        assert_eq!(
            result.expect_err("cancelled").outcome(),
            Some(StatementOutcome::Stopped)
        );
    }
    assert!(returned <= ms(50), "returned {returned:?} after the cancel");
    assert!(gone <= ms(50), "still running {gone:?} after the return");
    assert_eq!(pool.status().open, 2, "the kill did not come from the pool");
    for connection in [&mut first, &mut second] {
        connection
            .execute(&background, "SELECT 1")
            .await
            .expect("the connection was kept");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_a_connection_error_and_the_pool_heals() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("killed");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let sleep = format!("SELECT SLEEP(10) /* {marker} */");
    let kill = async {
        observer.wait_running(&marker, Duration::from_secs(5)).await;
        observer.execute(&format!("KILL CONNECTION {id}")).await;
    };

    let (result, ()) = tokio::join!(connection.execute(&background, sleep.as_str()), kill);

    let Err(Error::Connection { message, .. }) = &result else {
        panic!("expected a connection error, got {result:?}");
    };
    println!("KILL CONNECTION from outside: {message}");
    drop(connection);
    let (new_id,): (u64,) = pool
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("the pool opens a new connection");
    assert_ne!(new_id, id);
    assert_eq!(pool.status().open, 1);
}

/// A driver whose connections, kill line included, log in as a user of their own, so the
/// test can tell them apart in PROCESSLIST from every other test's.
async fn driver_with_own_user(observer: &Observer) -> (MySql, String) {
    let user = unique("kl");
    for host in ["localhost", "127.0.0.1", "::1"] {
        observer
            .execute(&format!(
                "CREATE USER '{user}'@'{host}'; GRANT ALL ON *.* TO '{user}'@'{host}'"
            ))
            .await;
    }
    let opts = Opts::from_url(&url()).expect("the test URL");
    let opts = OptsBuilder::from_opts(opts)
        .user(Some(user.clone()))
        .pass(None::<String>);
    (MySql::new(opts.into()), user)
}

async fn drop_user(observer: &Observer, user: &str) {
    for host in ["localhost", "127.0.0.1", "::1"] {
        observer
            .execute(&format!("DROP USER '{user}'@'{host}'"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_query_takes_one_round_trip_and_a_closed_kill_line_is_reopened() {
    let observer = Observer::connect().await;
    let (driver, user) = driver_with_own_user(&observer).await;

    // The canceller on an idle connection: the cost of one KILL QUERY on the kill line.
    let idle = driver.connect().await.expect("connect");
    let canceller = idle.canceller();
    let mut latencies = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        canceller.cancel().await.expect("KILL QUERY");
        latencies.push(start.elapsed());
    }
    latencies.sort();
    println!(
        "KILL QUERY over the kill line: p50 {:?}, p99 {:?}",
        latencies[100], latencies[198]
    );
    drop(idle);

    let pool = Pool::new(driver, PoolOptions::default()).expect("pool");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let theirs = format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND ID <> {id}"
    );
    let kill_line: u64 = observer.query_one(&theirs).await;
    observer
        .execute(&format!("KILL CONNECTION {kill_line}"))
        .await;

    let marker = unique("reopened");
    let sleep = format!("SELECT SLEEP(10) /* {marker} */");
    let scope = background.with_timeout(ms(100));
    let start = Instant::now();
    let result = connection.execute(&scope, sleep.as_str()).await;
    let returned = start.elapsed();
    let gone = observer
        .time_until_gone(&marker, Duration::from_secs(5))
        .await;
    println!("with the kill line killed: returned after {returned:?}, gone {gone:?} later");

    assert_eq!(
        result.expect_err("deadline").outcome(),
        Some(StatementOutcome::Stopped),
        "a new kill line stopped the statement"
    );
    assert!(returned <= ms(150), "returned after {returned:?}");
    assert!(gone <= ms(50), "still running {gone:?} after the return");
    // The kill line lives as long as the driver and its cancellers.
    drop((connection, canceller));
    pool.close();
    drop(pool);
    // Connections close in the background; wait for them before dropping the user.
    let start = Instant::now();
    let count =
        format!("SELECT count(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}'");
    while observer.query_one::<i64>(&count).await > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{user} still connected"
        );
        tokio::time::sleep(ms(5)).await;
    }
    drop_user(&observer, &user).await;
}

/// How a race trial ended.
#[derive(Default, Debug)]
struct Tally {
    finished_first: u32,
    stopped_and_kept: u32,
    completed_and_closed: u32,
    unknown_and_closed: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_racing_completion_never_reach_a_later_statement() {
    const WORKERS: u64 = 4;
    const TRIALS: u64 = 2_000;
    let pool = pool(WORKERS as usize).await;
    let mut random = Random::seeded();
    let seeds: Vec<u64> = (0..WORKERS).map(|_| random.below(u64::MAX)).collect();

    let workers = seeds.into_iter().map(|seed| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut random = Random::new(seed);
            let mut tally = Tally::default();
            for trial in 0..TRIALS / WORKERS {
                let background = Ctx::background();
                let mut connection = pool.acquire(&background).await.expect("acquire");
                // Every statement ends about 5 ms in; the kill lands 1 to 9 ms in: before,
                // during, or just after the end. SLEEP reports a kill with 1317, BENCHMARK
                // swallows it. A statement with a bound value is prepared first: once
                // (cached), or on every trial (a new text), so kills also land between the
                // prepare and the execute.
                let sql = match random.below(4) {
                    0 => Sql::new("SELECT SLEEP(0.005)"),
                    1 => Sql::new("SELECT BENCHMARK(15000, MD5('x'))"),
                    2 => Sql::new("SELECT SLEEP(?)").bind(0.005),
                    _ => Sql::new(format!("SELECT SLEEP(?) /* trial {trial} */")).bind(0.005),
                };
                let text = sql.text().to_owned();
                let delay = Duration::from_micros(1_000 + random.below(8_000));
                let result = if trial % 2 == 0 {
                    let scope = background.with_timeout(delay);
                    connection.execute(&scope, sql).await
                } else {
                    let scope = background.child();
                    let cancel = async {
                        tokio::time::sleep(delay).await;
                        scope.cancel("race");
                    };
                    tokio::join!(connection.execute(&scope, sql), cancel).0
                };
                match result {
                    Ok(_) => tally.finished_first += 1,
                    Err(Error::Canceled { outcome, .. }) => match outcome {
                        StatementOutcome::Stopped => tally.stopped_and_kept += 1,
                        StatementOutcome::Completed => tally.completed_and_closed += 1,
                        StatementOutcome::Unknown => tally.unknown_and_closed += 1,
                        StatementOutcome::NotSent => {}
                    },
                    Err(error) => panic!("trial {trial} ({text}, kill after {delay:?}): {error}"),
                }
                // A kept connection must run its next statement untouched.
                if let Err(error) = connection.execute(&background, "SELECT SLEEP(0.001)").await {
                    assert!(
                        matches!(error, Error::Connection { .. }),
                        "trial {trial}: a kept connection failed its next statement: {error}"
                    );
                }
            }
            tally
        })
    });
    let mut total = Tally::default();
    for worker in workers {
        let tally = worker.await.expect("worker");
        total.finished_first += tally.finished_first;
        total.stopped_and_kept += tally.stopped_and_kept;
        total.completed_and_closed += tally.completed_and_closed;
        total.unknown_and_closed += tally.unknown_and_closed;
    }
    println!(
        "{TRIALS} trials: {total:?}; kills consumed (connection kept): {}, connections \
         discarded: {}",
        total.stopped_and_kept,
        total.completed_and_closed + total.unknown_and_closed
    );

    // Afterwards every pooled connection runs ten statements without a single 1317.
    let background = Ctx::background();
    let mut connections = Vec::new();
    for _ in 0..pool.status().open {
        connections.push(pool.acquire(&background).await.expect("acquire"));
    }
    for connection in &mut connections {
        for _ in 0..10 {
            connection
                .execute(&background, "SELECT SLEEP(0.001)")
                .await
                .expect("a clean connection");
        }
    }
    assert!(
        total.stopped_and_kept > 0,
        "no trial stopped a statement: {total:?}"
    );
    assert!(
        total.finished_first > 0,
        "no trial finished first: {total:?}"
    );
    assert!(
        total.completed_and_closed > 0,
        "no kill was swallowed: {total:?}"
    );
}
