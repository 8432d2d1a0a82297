//! Values in and out: binding, decoding, bad input and extreme deadlines.

use std::time::Duration;

use tethered_core::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use tethered_core::{Cause, Ctx, Error, Executor, Sql, StatementOutcome};
use tethered_postgres::{PgRow, Postgres};

use crate::support::{Observer, pool, unique};

const INJECTIONS: [&str; 5] = [
    "'); DROP TABLE users; --",
    "\" OR 1=1 --",
    "$1",
    "\\'; SELECT pg_sleep(10); --",
    "Robert'); DELETE FROM students WHERE ('a'='a",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_shaped_strings_round_trip_literally() {
    let pool = pool(1).await;
    let observer = Observer::connect().await;
    let table = unique("inject");
    observer
        .execute(&format!(
            "CREATE TABLE {table} (id serial PRIMARY KEY, body text NOT NULL)"
        ))
        .await;
    let ctx = Ctx::background();

    for text in INJECTIONS {
        let raw = Sql::new(format!("INSERT INTO {table} (body) VALUES ($1)")).bind(text);
        pool.execute(&ctx, raw).await.expect("raw insert");
        let built = Query::insert()
            .into_table(Alias::new(&table))
            .columns([Alias::new("body")])
            .values_panic([text.into()])
            .to_owned();
        pool.execute(&ctx, built).await.expect("sea-query insert");
    }
    let select = Query::select()
        .column(Alias::new("body"))
        .from(Alias::new(&table))
        .order_by(Alias::new("id"), Order::Asc)
        .to_owned();
    let bodies: Vec<(String,)> = pool.fetch_all(&ctx, select).await.expect("select");

    let expected: Vec<(String,)> = INJECTIONS
        .iter()
        .flat_map(|text| [(text.to_string(),), (text.to_string(),)])
        .collect();
    assert_eq!(bodies, expected);
    let filtered = Query::select()
        .expr(Expr::col(Alias::new("body")).count())
        .from(Alias::new(&table))
        .and_where(Expr::col(Alias::new("body")).eq(INJECTIONS[0]))
        .to_owned();
    let (count,): (i64,) = pool.fetch_one(&ctx, filtered).await.expect("count");
    assert_eq!(count, 2);
    observer.execute(&format!("DROP TABLE {table}")).await;
}

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
async fn decode_errors_name_the_column_and_the_type() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let wrong_type = pool
        .fetch_one::<(i64,)>(&ctx, "SELECT 'abc'::text AS label")
        .await;
    let Err(Error::Decode {
        column, rust_type, ..
    }) = &wrong_type
    else {
        panic!("expected a decode error, got {wrong_type:?}");
    };
    assert_eq!((column.as_str(), *rust_type), ("label", "i64"));

    let too_big = pool
        .fetch_one::<(i32,)>(&ctx, "SELECT (2^40)::int8 AS big")
        .await;
    let Err(Error::Decode { column, source, .. }) = &too_big else {
        panic!("expected a decode error, got {too_big:?}");
    };
    assert_eq!(column, "big");
    assert!(source.to_string().contains("does not fit"), "{source}");

    let null = pool
        .fetch_one::<(String,)>(&ctx, "SELECT NULL::text AS maybe")
        .await;
    assert!(
        matches!(&null, Err(Error::Decode { column, .. }) if column == "maybe"),
        "{null:?}"
    );
    let (maybe,): (Option<String>,) = pool
        .fetch_one(&ctx, "SELECT NULL::text AS maybe")
        .await
        .expect("an Option takes NULL");
    assert_eq!(maybe, None);

    let (count,): (i32,) = pool
        .fetch_one(&ctx, "SELECT count(*) FROM generate_series(1, 3)")
        .await
        .expect("a count fits an i32");
    assert_eq!(count, 3);

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
async fn bad_statements_and_urls_are_clear_errors() {
    let pool = pool(1).await;
    let ctx = Ctx::background();

    let syntax = pool.execute(&ctx, "SELEC 1").await;
    assert_eq!(syntax.expect_err("a syntax error").code(), Some("42601"));
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
    let nobody = tethered_postgres::connect(
        &Ctx::background().with_timeout(Duration::from_secs(5)),
        "postgres://postgres@127.0.0.1:1/test",
        tethered_core::PoolOptions::default(),
    )
    .await;
    assert!(
        matches!(nobody, Err(Error::Connection { .. })),
        "{nobody:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_deadlines_behave() {
    let pool = pool(1).await;
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.expect("acquire");

    for done in [
        root.with_timeout(Duration::ZERO),
        root.with_deadline(tokio::time::Instant::now() - Duration::from_secs(3600)),
    ] {
        let result = connection.execute(&done, "SELECT 1").await;
        let Err(Error::Canceled { cause, outcome }) = result else {
            panic!("expected the deadline, got {result:?}");
        };
        assert_eq!(
            (cause, outcome),
            (Cause::DeadlineExceeded, StatementOutcome::NotSent)
        );
    }

    let years = root.with_timeout(Duration::from_secs(200 * 365 * 24 * 3600));
    let (limit,): (String,) = connection
        .fetch_one(&years, "SHOW statement_timeout")
        .await
        .expect("a statement under a deadline years away");
    assert_eq!(
        limit, "2147483647ms",
        "the server-side limit is clamped to its maximum"
    );

    let unbounded = root.with_timeout(Duration::MAX);
    let (limit,): (String,) = connection
        .fetch_one(&unbounded, "SHOW statement_timeout")
        .await
        .expect("a deadline too far to represent is no deadline");
    assert_eq!(limit, "0", "no deadline restores the server's default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_side_limit_follows_the_context_and_rarely_changes() {
    let pool = pool(1).await;
    let root = Ctx::background();
    let mut connection = pool.acquire(&root).await.expect("acquire");
    let show = "SHOW statement_timeout";

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
