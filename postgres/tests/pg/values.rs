//! PostgreSQL's own rules for values (binding by the inferred parameter type, decoding
//! across integer widths) and for the server-side limit. What every backend shares is in
//! the cross-backend suite (`tests/` at the workspace root).

use std::time::Duration;

use tethered_core::{Ctx, Error, Executor, Sql};
use tethered_postgres::{PgRow, Postgres};

use crate::support::pool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_bind_by_the_parameters_type_and_are_never_truncated() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let (widened,): (i64,) = pool
        .fetch_one(&ctx, Sql::new("SELECT $1::int8 + 1").bind(41i32))
        .await
        .expect("an int4 value into an int8 parameter");
    assert_eq!(widened, 42);
    let (narrowed,): (i32,) = pool
        .fetch_one(&ctx, Sql::new("SELECT $1::int4").bind(7i64))
        .await
        .expect("an int8 value that fits an int4 parameter");
    assert_eq!(narrowed, 7);

    for too_big in [
        Sql::new("SELECT $1::int4").bind(i64::from(i32::MAX) + 1),
        Sql::new("SELECT $1::int8").bind(u64::MAX),
        Sql::new("SELECT $1::int2").bind(40_000u32),
    ] {
        let refused = pool.fetch_one::<(i64,)>(&ctx, too_big).await;
        let Err(Error::InvalidInput(message)) = &refused else {
            panic!("expected a refusal, got {refused:?}");
        };
        assert!(message.contains("does not fit"), "{message}");
    }
    let (null,): (Option<i32>,) = pool
        .fetch_one(&ctx, Sql::new("SELECT $1::int4").bind(None::<i64>))
        .await
        .expect("NULL binds to any type");
    assert_eq!(null, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_decode_from_any_integer_column_when_the_value_fits() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let (count,): (i32,) = pool
        .fetch_one(&ctx, "SELECT count(*) FROM generate_series(1, 3)")
        .await
        .expect("an int8 count fits an i32");
    assert_eq!(count, 3);
    let (widened,): (i64,) = pool
        .fetch_one(&ctx, "SELECT 7::int2")
        .await
        .expect("an int2 widens to an i64");
    assert_eq!(widened, 7);
    let too_big = pool
        .fetch_one::<(i32,)>(&ctx, "SELECT (2^40)::int8 AS big")
        .await;
    let Err(Error::Decode { column, source, .. }) = &too_big else {
        panic!("expected a decode error, got {too_big:?}");
    };
    assert_eq!(column, "big");
    assert!(source.to_string().contains("does not fit"), "{source}");
    let (single,): (f64,) = pool
        .fetch_one(&ctx, "SELECT 0.5::float4")
        .await
        .expect("a real widens to an f64");
    assert_eq!(single, 0.5);
    let narrowed = pool
        .fetch_one::<(f32,)>(&ctx, "SELECT 0.5::float8 AS d")
        .await;
    assert!(
        matches!(&narrowed, Err(Error::Decode { column, .. }) if column == "d"),
        "{narrowed:?}"
    );

    let row: PgRow = pool
        .fetch_one(&ctx, "SELECT 1 AS one")
        .await
        .expect("a row");
    let missing = tethered_core::Row::try_get::<i32>(&row, "two");
    assert!(
        matches!(&missing, Err(Error::Decode { column, .. }) if column == "two"),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placeholders_and_urls_are_checked_before_anything_runs() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let placeholders = pool
        .execute(&ctx, Sql::new("SELECT $1::int4").bind(1).bind(2))
        .await;
    assert!(
        matches!(placeholders, Err(Error::InvalidInput(_))),
        "{placeholders:?}"
    );
    let not_a_url = Postgres::from_url("definitely not a url");
    assert!(
        matches!(not_a_url, Err(Error::InvalidInput(_))),
        "{not_a_url:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_side_limit_follows_the_context_and_rarely_changes() {
    let pool = pool(1).await;
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.expect("acquire");
    let show = "SHOW statement_timeout";

    let years = root.with_timeout(Duration::from_secs(200 * 365 * 24 * 3600));
    let (clamped,): (String,) = connection.fetch_one(&years, show).await.expect("show");
    assert_eq!(clamped, "2147483647ms", "clamped to the server's maximum");
    let unbounded = root.with_timeout(Duration::MAX);
    let (reset,): (String,) = connection.fetch_one(&unbounded, show).await.expect("show");
    assert_eq!(
        reset, "0",
        "a deadline too far to represent is none: the default again"
    );

    let request = root.with_timeout(Duration::from_millis(2000));
    let (first,): (String,) = connection.fetch_one(&request, show).await.expect("show");
    assert_eq!(first, "2048ms");
    let stage = request.with_timeout(Duration::from_millis(1500));
    let (kept,): (String,) = connection.fetch_one(&stage, show).await.expect("show");
    assert_eq!(kept, "2048ms", "still fits: not sent again");
    let short = request.with_timeout(Duration::from_millis(100));
    let (tightened,): (String,) = connection.fetch_one(&short, show).await.expect("show");
    assert_eq!(tightened, "128ms");

    // A rollback reverts a SET made inside the transaction; the limit is set again after.
    let mut tx = connection.begin(&root).await.expect("begin");
    let (inside,): (String,) = tx.fetch_one(&request, show).await.expect("show");
    assert_eq!(inside, "2048ms");
    tx.rollback(&root).await.expect("rollback");
    let mut connection = pool.acquire(&root).await.expect("the same connection");
    let (after,): (String,) = connection.fetch_one(&request, show).await.expect("show");
    assert_eq!(after, "2048ms");
}
