//! MariaDB-specific stops: statements that swallow a kill, and the kill line itself. The
//! stops every backend shares are proved by the cross-backend suite (`tests/`).

use std::time::Duration;

use mysql_async::{Opts, OptsBuilder};
use tethered_core::{Canceller, Connection, Ctx, Driver, Error, Executor, Pool, StatementOutcome};
use tethered_mysql::MySql;
use tokio::time::Instant;

use crate::support::{Observer, PROMPTLY, options, pool, unique, url};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// What ends the statement, 100 ms in.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    Deadline,
    Cancel,
    DroppedBySelect,
}

/// `BENCHMARK()` swallows a kill: it stops early and returns 0, its normal result, so the
/// stop cannot be confirmed. Core then reports `Completed` (after a deadline or a cancel)
/// and closes the connection, since a kill might still be pending on it; the pool opens
/// another. The statement is gone from PROCESSLIST promptly either way.
async fn swallowed_kill(trigger: Trigger) {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let marker = unique("benchmark");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let sql = format!("SELECT BENCHMARK(10000000000, MD5('x')) /* {marker} */");
    let running = observer.wait_running(&marker, Duration::from_secs(5));
    let start = Instant::now();

    let result = match trigger {
        Trigger::Deadline => {
            let scope = background.with_timeout(ms(100));
            Some(tokio::join!(connection.execute(&scope, sql.as_str()), running).0)
        }
        Trigger::Cancel => {
            let scope = background.child();
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                scope.cancel("user pressed stop");
            };
            Some(tokio::join!(connection.execute(&scope, sql.as_str()), running, cancel).0)
        }
        Trigger::DroppedBySelect => {
            let statement = connection.execute(&background, sql.as_str());
            let ((), ()) = tokio::join!(
                async {
                    tokio::select! {
                        _ = statement => panic!("BENCHMARK finished"),
                        () = tokio::time::sleep(ms(100)) => {}
                    }
                },
                running
            );
            None
        }
    };
    let returned = start.elapsed();
    let gone = observer
        .time_until_gone(&marker, Duration::from_secs(5))
        .await;
    let after = connection.execute(&background, "SELECT 1").await;
    let closed = observer.time_until_closed(id, Duration::from_secs(5)).await;
    println!(
        "BENCHMARK / {trigger:?}: returned after {returned:?}; gone {gone:?} later; the \
         connection closed on the server {closed:?} after that"
    );

    if let Some(result) = result {
        let Err(Error::Canceled { outcome, .. }) = result else {
            panic!("{trigger:?}: expected a cancellation, got {result:?}");
        };
        assert_eq!(outcome, StatementOutcome::Completed, "{trigger:?}");
        assert!(
            returned <= ms(100) + PROMPTLY,
            "{trigger:?}: returned after {returned:?}"
        );
    }
    assert!(
        gone <= PROMPTLY,
        "{trigger:?}: still running {gone:?} after the return"
    );
    assert!(matches!(after, Err(Error::Connection { .. })), "{after:?}");
    drop(connection);
    let (new_id,): (u64,) = pool
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("the pool opens a new connection");
    assert_ne!(new_id, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_on_a_benchmark_reports_it_completed_and_closes_its_connection() {
    swallowed_kill(Trigger::Deadline).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_of_a_benchmark_reports_it_completed_and_closes_its_connection() {
    swallowed_kill(Trigger::Cancel).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_benchmark_closes_its_connection() {
    swallowed_kill(Trigger::DroppedBySelect).await;
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
    let idle = driver.connect(&Ctx::background()).await.expect("connect");
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

    let pool = Pool::new(driver, options(10)).expect("pool");
    let background = Ctx::background();
    let mut connection = pool.acquire(&background).await.expect("acquire");
    let (id,): (u64,) = connection
        .fetch_one(&background, "SELECT CONNECTION_ID()")
        .await
        .expect("id");
    let kill_line = observer
        .sessions_of(&user)
        .await
        .into_iter()
        .find(|session| *session != id)
        .expect("the kill line's session");
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
    assert!(
        returned <= ms(100) + PROMPTLY,
        "returned after {returned:?}"
    );
    assert!(gone <= PROMPTLY, "still running {gone:?} after the return");
    // The kill line lives as long as the driver and its cancellers.
    drop((connection, canceller));
    pool.close();
    drop(pool);
    // Connections close in the background; wait for them before dropping the user.
    let start = Instant::now();
    while !observer.sessions_of(&user).await.is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{user} still connected"
        );
        tokio::time::sleep(ms(5)).await;
    }
    drop_user(&observer, &user).await;
}
