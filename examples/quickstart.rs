//! tethered in one minute, against PostgreSQL (TETHERED_POSTGRES_URL, default
//! `postgres://postgres@127.0.0.1:5432/test`; `scripts/ensure-databases` starts one).
//!
//! Run with `cargo run --example quickstart --features postgres`.

use std::time::{Duration, Instant};

use tethered::postgres::{PgPool, connect};
use tethered::prelude::*;
use tethered::{PoolOptions, Transaction};

type Db = tethered::postgres::Postgres;

#[tokio::main]
async fn main() -> Result<()> {
    let url = std::env::var("TETHERED_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let root = Ctx::background();
    let connecting = root.with_timeout(Duration::from_secs(5));
    let db = connect(&connecting, &url, PoolOptions::default())
        .await
        .inspect_err(|error| {
            eprintln!("cannot reach PostgreSQL at {url}: {error}");
            if nothing_listens(error) {
                eprintln!("start it with scripts/ensure-databases");
            }
        })?;

    // 1. A typed query with a bound value.
    let (answer,): (i32,) = db
        .fetch_one(&root, Sql::new("SELECT $1::int4 * 2").bind(21))
        .await?;
    println!("1. SELECT 21 * 2 -> {answer}");

    // 2. A request with a 100 ms budget runs a 10 s statement: the statement stops on the
    //    server, and the server's own view says so.
    let request = root.with_timeout(Duration::from_millis(100));
    let started = Instant::now();
    let slow = db
        .execute(&request, "SELECT pg_sleep(10) /* quickstart */")
        .await;
    let error = slow.expect_err("a 10 s sleep cannot finish in 100 ms");
    println!("2. after {:?}: {error}", started.elapsed());
    println!(
        "   gone from pg_stat_activity {:?} later",
        gone(&db, &root).await?
    );

    // 3. Dropping the future (here by tokio's timeout, no context involved) stops it too.
    let dropped = tokio::time::timeout(
        Duration::from_millis(100),
        db.execute(&root, "SELECT pg_sleep(10) /* quickstart */"),
    )
    .await;
    assert!(dropped.is_err(), "a 10 s sleep cannot finish in 100 ms");
    println!("3. tokio::time::timeout dropped the statement's future");
    println!(
        "   gone from pg_stat_activity {:?} later",
        gone(&db, &root).await?
    );

    // 4. A transaction whose context ends before the commit is rolled back.
    let request = root.child();
    let mut tx: Transaction<Db> = db.begin(&request).await?;
    tx.execute(&request, "CREATE TEMP TABLE quickstart (n int)")
        .await?;
    request.cancel("the client went away");
    let committed = tx.commit(&root).await;
    println!(
        "4. commit after the request ended: {}",
        committed.expect_err("rolled back")
    );
    Ok(())
}

/// Whether connecting failed because nothing listens at the address (rather than, say, an
/// unknown role, which starting a server would not fix).
fn nothing_listens(error: &Error) -> bool {
    std::iter::successors(std::error::Error::source(error), |cause| cause.source())
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// How long until pg_stat_activity shows no statement tagged `quickstart` running.
async fn gone(db: &PgPool, ctx: &Ctx) -> Result<Duration> {
    let sql = "SELECT count(*) FROM pg_stat_activity \
               WHERE state = 'active' AND query LIKE '%/* quickstart */' AND pid <> pg_backend_pid()";
    let started = Instant::now();
    let watching = ctx.with_timeout(Duration::from_secs(5));
    loop {
        let (running,): (i64,) = db.fetch_one(&watching, sql).await?;
        if running == 0 {
            return Ok(started.elapsed());
        }
    }
}
