//! Every way a statement can be stopped, asserted on `pg_stat_activity`.

use std::time::Duration;

use tethered_core::{Cause, Ctx, Error, Executor, StatementOutcome};
use tokio::time::Instant;

use crate::support::{Observer, Random, pool, unique};

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

/// Runs `SELECT pg_sleep(10)` on a held connection, ends it with `trigger` after 100 ms,
/// and checks: the caller gets the cause within 50 ms of the trigger, the statement is
/// gone from `pg_stat_activity` within 50 ms after that, and the same backend then runs a
/// statement at once.
async fn stop_a_sleep(trigger: Trigger) {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("sleep");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (pid,): (i32,) = connection
        .fetch_one(&background, "SELECT pg_backend_pid()")
        .await
        .expect("pid");
    let sleep = format!("SELECT pg_sleep(10) /* {marker} */");
    let start = Instant::now();

    let running = observer.wait_running(&marker, Duration::from_secs(5));
    let result = match trigger {
        Trigger::Deadline => {
            let scope = background.with_timeout(ms(100));
            tokio::join!(connection.execute(&scope, sleep.as_str()), running).0
        }
        Trigger::Cancel => {
            let scope = background.child();
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                scope.cancel("user pressed stop");
            };
            tokio::join!(connection.execute(&scope, sleep.as_str()), running, cancel).0
        }
        Trigger::ParentCancel => {
            let request = background.child();
            let stage = request.with_timeout(Duration::from_secs(60));
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                request.cancel("request aborted");
            };
            tokio::join!(connection.execute(&stage, sleep.as_str()), running, cancel).0
        }
        Trigger::DroppedByTimeout => {
            let statement =
                tokio::time::timeout(ms(100), connection.execute(&background, sleep.as_str()));
            let (timed_out, ()) = tokio::join!(statement, running);
            assert!(timed_out.is_err(), "the timeout dropped the statement");
            Err(Error::InvalidInput("dropped".into()))
        }
        Trigger::DroppedBySelect => {
            let statement = connection.execute(&background, sleep.as_str());
            let ((), ()) = tokio::join!(
                async {
                    tokio::select! {
                        _ = statement => panic!("pg_sleep(10) finished"),
                        () = tokio::time::sleep(ms(100)) => {}
                    }
                },
                running
            );
            Err(Error::InvalidInput("dropped".into()))
        }
    };
    let returned = start.elapsed();
    let gone = observer
        .time_until_gone(&marker, Duration::from_secs(5))
        .await;
    let next = Instant::now();
    let (same_pid,): (i32,) = connection
        .fetch_one(&background, "SELECT pg_backend_pid()")
        .await
        .expect("the same connection runs the next statement");
    let next = next.elapsed();
    println!(
        "{trigger:?}: returned after {returned:?}; gone from pg_stat_activity {gone:?} later; \
         next statement took {next:?}"
    );

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
            assert_eq!(outcome, StatementOutcome::Stopped);
            assert!(
                returned <= ms(150),
                "{trigger:?}: returned after {returned:?}"
            );
        }
        Trigger::DroppedByTimeout | Trigger::DroppedBySelect => {}
    }
    assert!(
        gone <= ms(50),
        "{trigger:?}: still running {gone:?} after the return"
    );
    assert_eq!(same_pid, pid, "{trigger:?}: the connection was kept");
    assert!(
        next < ms(500),
        "{trigger:?}: the next statement waited {next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_stops_the_statement_on_the_server() {
    stop_a_sleep(Trigger::Deadline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_cancel_stops_the_statement_on_the_server() {
    stop_a_sleep(Trigger::Cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_cancel_stops_a_childs_statement_on_the_server() {
    stop_a_sleep(Trigger::ParentCancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_dropped_by_timeout_stops_the_statement_on_the_server() {
    stop_a_sleep(Trigger::DroppedByTimeout).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_dropped_by_select_stops_the_statement_on_the_server() {
    stop_a_sleep(Trigger::DroppedBySelect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_done_context_sends_nothing() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("sent");
    observer
        .execute(&format!("CREATE TABLE {table} (n int)"))
        .await;
    let scope = Ctx::background().child();
    let mut connection = pool.acquire(&scope).await.expect("acquire");
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
async fn the_server_stops_a_statement_by_itself_when_the_client_stops_participating() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("orphan");
    let mut connection = pool.acquire(&Ctx::background()).await.expect("acquire");
    let scope = Ctx::background().with_timeout(ms(300));
    let sleep = format!("SELECT pg_sleep(10) /* {marker} */");
    let start = Instant::now();

    let mut statement = Box::pin(connection.execute(&scope, sleep.as_str()));
    tokio::select! {
        _ = &mut statement => panic!("pg_sleep(10) finished"),
        () = observer.wait_running(&marker, Duration::from_secs(5)) => {}
    }
    // A hung or partitioned client: its future is neither polled nor dropped again, so
    // no cancel request is ever sent. Only the server's own limit can stop the statement.
    std::mem::forget(statement);
    observer
        .time_until_gone(&marker, Duration::from_secs(5))
        .await;
    let stopped_at = start.elapsed();

    println!("the server stopped the orphaned statement {stopped_at:?} after it began");
    assert!(
        stopped_at >= ms(300),
        "stopped before the deadline: {stopped_at:?}"
    );
    assert!(
        stopped_at < Duration::from_secs(2),
        "stopped at {stopped_at:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_backend_is_a_connection_error_and_the_pool_heals() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("terminated");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let sleep = format!("SELECT pg_sleep(10) /* {marker} */");
    let terminate = async {
        observer.wait_running(&marker, Duration::from_secs(5)).await;
        let kill = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
        );
        observer.execute(&kill).await;
    };

    let (result, ()) = tokio::join!(connection.execute(&background, sleep.as_str()), terminate);

    let Err(Error::Connection { message, .. }) = &result else {
        panic!("expected a connection error, got {result:?}");
    };
    assert!(message.contains("57P01"), "{message}");
    drop(connection);
    let (one,): (i32,) = pool
        .fetch_one(&background, "SELECT 1")
        .await
        .expect("the pool opens a new connection");
    assert_eq!(one, 1);
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
async fn cancels_racing_completion_never_reach_a_later_statement() {
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
                // pg_sleep(0.005) ends about 5 ms in; the cancel lands 1 to 9 ms in:
                // before, during, or just after the end.
                let delay = Duration::from_micros(1_000 + random.below(8_000));
                let result = if trial % 2 == 0 {
                    let scope = background.with_timeout(delay);
                    connection.execute(&scope, "SELECT pg_sleep(0.005)").await
                } else {
                    let scope = background.child();
                    let cancel = async {
                        tokio::time::sleep(delay).await;
                        scope.cancel("race");
                    };
                    tokio::join!(connection.execute(&scope, "SELECT pg_sleep(0.005)"), cancel).0
                };
                match result {
                    Ok(_) => tally.finished_first += 1,
                    Err(Error::Canceled { outcome, .. }) => match outcome {
                        StatementOutcome::Stopped => tally.stopped_and_kept += 1,
                        StatementOutcome::Completed => tally.completed_and_closed += 1,
                        StatementOutcome::Unknown => tally.unknown_and_closed += 1,
                        StatementOutcome::NotSent => {}
                    },
                    Err(error) => panic!("trial {trial} (cancel after {delay:?}): {error}"),
                }
                // A kept connection must run its next statement untouched.
                if let Err(error) = connection.execute(&background, "SELECT 1").await {
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
    println!("{TRIALS} trials: {total:?}");

    // Afterwards every pooled connection runs ten statements without a single 57014.
    let background = Ctx::background();
    let mut connections = Vec::new();
    for _ in 0..pool.status().open {
        connections.push(pool.acquire(&background).await.expect("acquire"));
    }
    for connection in &mut connections {
        for _ in 0..10 {
            connection
                .execute(&background, "SELECT 1")
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
}
