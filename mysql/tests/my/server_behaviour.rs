//! What MariaDB does with `KILL QUERY`, checked with plain mysql_async connections (no
//! tethered in between). The backend's race safety rests on these facts; the crate docs
//! cite them.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use crate::support::plain_connection;

/// How a statement ended: its first value, or the server's error number.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    Value(i64),
    Error(u16),
}

async fn run(conn: &mut Conn, sql: &str, binary: bool) -> Ending {
    let rows: mysql_async::Result<Vec<Row>> = if binary {
        conn.exec(sql, ()).await
    } else {
        conn.query(sql).await
    };
    match rows {
        Ok(rows) => Ending::Value(
            rows.first()
                .and_then(|row| row.get::<i64, _>(0))
                .expect("one integer"),
        ),
        Err(mysql_async::Error::Server(error)) => Ending::Error(error.code),
        Err(error) => panic!("{sql}: {error}"),
    }
}

/// The statement a connection runs after a kill, to see whether the kill reached it: a
/// 3 ms sleep returns 0, or 1317 if a kill flag was still set.
async fn untouched(conn: &mut Conn, binary: bool) -> bool {
    run(conn, "SELECT SLEEP(0.003)", binary).await == Ending::Value(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_that_reaches_an_idle_connection_does_not_touch_its_next_statement() {
    let mut target = plain_connection().await;
    let mut killer = plain_connection().await;
    let kill = format!("KILL QUERY {}", target.id());
    for trial in 0..200 {
        killer.query_drop(&kill).await.expect("KILL QUERY");
        if trial % 2 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(untouched(&mut target, trial % 4 < 2).await, "trial {trial}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_ends_a_running_statement_with_1317_and_is_spent() {
    let mut target = plain_connection().await;
    let mut killer = plain_connection().await;
    let kill = format!("KILL QUERY {}", target.id());
    for (sql, binary) in [
        ("SELECT SLEEP(10)", false),
        ("SELECT SLEEP(10)", true),
        ("SELECT SLEEP(10), 1", false),
        ("SELECT 1 FROM (SELECT SLEEP(10)) AS t", true),
        (
            "SELECT count(*) FROM seq_1_to_100000 a, seq_1_to_100000 b",
            false,
        ),
        (
            "SELECT count(*) FROM seq_1_to_100000 a, seq_1_to_100000 b",
            true,
        ),
    ] {
        for _ in 0..5 {
            let stop = async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                killer.query_drop(&kill).await.expect("KILL QUERY");
            };
            let (ending, ()) = tokio::join!(run(&mut target, sql, binary), stop);
            assert_eq!(ending, Ending::Error(1317), "{sql} (binary: {binary})");
            assert!(untouched(&mut target, binary).await, "after {sql}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn some_statements_swallow_a_kill_and_end_as_if_finished() {
    let mut target = plain_connection().await;
    let mut killer = plain_connection().await;
    let kill = format!("KILL QUERY {}", target.id());
    // BENCHMARK() stops early and returns 0, the value it returns when it finishes.
    let stop = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        killer.query_drop(&kill).await.expect("KILL QUERY");
    };
    let started = tokio::time::Instant::now();
    let (ending, ()) = tokio::join!(
        run(
            &mut target,
            "SELECT BENCHMARK(10000000000, MD5('x'))",
            false
        ),
        stop
    );
    assert_eq!(ending, Ending::Value(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it stopped early"
    );
    assert!(untouched(&mut target, false).await);

    // DO SLEEP() ends with OK, not an error.
    let stop = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        killer.query_drop(&kill).await.expect("KILL QUERY");
    };
    let (done, ()) = tokio::join!(target.query_drop("DO SLEEP(10)"), stop);
    done.expect("DO SLEEP ends without an error");
    assert!(untouched(&mut target, true).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kills_racing_the_end_of_a_statement_never_reach_the_next_one() {
    let mut target = plain_connection().await;
    let mut killer = plain_connection().await;
    let kill = format!("KILL QUERY {}", target.id());
    let (mut interrupted, mut swallowed, mut finished) = (0, 0, 0);
    for trial in 0..300 {
        // Kills swept evenly across 0 to 8 ms: before, during and after the 4 ms sleep.
        let delay = Duration::from_micros(trial * 8_000 / 300);
        let stop = async {
            tokio::time::sleep(delay).await;
            killer.query_drop(&kill).await.expect("KILL QUERY");
        };
        let (ending, ()) = tokio::join!(
            run(&mut target, "SELECT SLEEP(0.004)", trial % 2 == 0),
            stop
        );
        match ending {
            Ending::Error(1317) => interrupted += 1,
            // The kill cut the sleep short, but too late to fail the statement: SLEEP()
            // returns 1 when interrupted (seen on a loaded machine). A swallowed kill, as
            // BENCHMARK() swallows one: tethered closes such a connection.
            Ending::Value(1) => swallowed += 1,
            Ending::Value(0) => finished += 1,
            other => panic!("trial {trial}: {other:?}"),
        }
        assert!(
            untouched(&mut target, trial % 3 == 0).await,
            "trial {trial}"
        );
    }
    println!(
        "300 raw kills: {interrupted} interrupted (1317), {swallowed} swallowed (SLEEP \
         returned 1), {finished} after the end"
    );
    assert!(
        interrupted > 0 && finished > 0,
        "{interrupted} / {finished}"
    );
}

/// The limit `MySql`'s `Driver::MAX_PARAMETERS` says: 65,535 placeholders prepare, one more
/// is error 1390 (ER_PS_MANY_PARAM), refused by the server before anything runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_statement_takes_at_most_65535_placeholders() {
    let mut conn = plain_connection().await;
    let select = |placeholders: usize| {
        format!(
            "SELECT 1 WHERE 1 IN ({})",
            vec!["?"; placeholders].join(", ")
        )
    };
    let at_limit = conn
        .prep(select(65_535))
        .await
        .expect("65,535 placeholders");
    assert_eq!(at_limit.num_params(), 65_535);
    conn.close(at_limit).await.expect("close the statement");
    match conn.prep(select(65_536)).await {
        Err(mysql_async::Error::Server(error)) => assert_eq!(error.code, 1390, "{error}"),
        other => panic!("expected error 1390, got {other:?}"),
    }
    assert_eq!(run(&mut conn, "SELECT 7", false).await, Ending::Value(7));
}
