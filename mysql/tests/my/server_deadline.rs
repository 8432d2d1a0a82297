//! The server's own limit, derived from the context's deadline: it stops a statement whose
//! client went silent, follows the context, and keeps statement texts few.

use std::time::Duration;

use tethered_core::{Ctx, Executor, Sql};

use crate::support::pool;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_side_limit_follows_the_context() {
    let pool = pool(1).await;
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.expect("acquire");
    let text = "SELECT @@max_statement_time";
    let bound = || Sql::new("SELECT @@max_statement_time, ?").bind(1);

    let (default,): (f64,) = connection.fetch_one(&root, text).await.expect("show");
    // The time left plus the 500 ms margin, rounded up: 2.048 s, then 1.024 s.
    let request = root.with_timeout(ms(1000));
    let (limited,): (f64,) = connection.fetch_one(&request, text).await.expect("show");
    let (prepared, _): (f64, i32) = connection.fetch_one(&request, bound()).await.expect("show");
    let short = request.with_timeout(ms(100));
    let (tightened,): (f64,) = connection.fetch_one(&short, text).await.expect("show");
    let (after,): (f64,) = connection.fetch_one(&root, text).await.expect("show");

    assert_eq!(default, 0.0, "the server's default: no limit");
    assert_eq!(limited, 2.048);
    assert_eq!(prepared, 2.048, "prepared statements carry it too");
    assert_eq!(tightened, 1.024);
    assert_eq!(
        after, 0.0,
        "the limit is the statement's own, not the session's"
    );

    let years = root.with_timeout(Duration::from_secs(200 * 365 * 24 * 3600));
    let (clamped,): (f64,) = connection.fetch_one(&years, text).await.expect("show");
    assert_eq!(clamped, 31_536_000.0, "clamped to the server's maximum");
    let unbounded = root.with_timeout(Duration::MAX);
    let (none,): (f64,) = connection.fetch_one(&unbounded, text).await.expect("show");
    assert_eq!(none, 0.0, "a deadline too far to represent is no deadline");
}

/// The session's count of statements prepared so far.
async fn prepared_so_far(
    connection: &mut tethered_core::PoolConnection<tethered_mysql::MySql>,
) -> u64 {
    let (_, count): (String, String) = connection
        .fetch_one(
            &Ctx::background(),
            "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'",
        )
        .await
        .expect("status");
    count.parse().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_keep_the_statement_texts_few() {
    let pool = pool(1).await;
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.expect("acquire");
    let before = prepared_so_far(&mut connection).await;

    for round in 0..2 {
        let start = prepared_so_far(&mut connection).await;
        for n in 0..200_u64 {
            // Time left swept from 0.5 s to 5 s, as in a service with 5 s requests (never so
            // short that the deadline could end the select on a loaded machine); the second
            // round steps differently, so it meets other values in the same buckets.
            let left = Duration::from_micros(500_000 + (n * 24_989 + round * 7_919) % 4_500_000);
            let scope = root.with_timeout(left);
            let (n,): (i64,) = connection
                .fetch_one(&scope, Sql::new("SELECT ? + 1").bind(41))
                .await
                .expect("select");
            assert_eq!(n, 42);
        }
        let prepared = prepared_so_far(&mut connection).await - start;
        println!("round {round}: 200 statements under random deadlines prepared {prepared} texts");
    }
    // One text per power-of-two bucket from 1024 ms to 8192 ms, each prepared once.
    let prepared = prepared_so_far(&mut connection).await - before;
    assert!(prepared <= 4, "{prepared} texts for 400 statements");
}
