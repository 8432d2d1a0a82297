//! A server-side sleep that outlives its caller's patience, stopped on the server.
//!
//! ```sh
//! cargo run --example cancel_demo --features postgres,mysql -- \
//!     --backend postgres --sleep-secs 10 --timeout-ms 100 [--drop]
//! ```
//!
//! Without `--drop`, the sleep runs under a context with a deadline `--timeout-ms` away.
//! With `--drop`, it runs under a context with no deadline at all, inside a plain
//! `tokio::time::timeout` that drops its future: the way most code gives up on a query.
//!
//! Prints one JSON line: the backend, the mode, the outcome, how long the caller waited
//! (`elapsed_ms`), whether the server confirmed the stop, whether the server's own view
//! (`pg_stat_activity`, MariaDB's `SHOW PROCESSLIST`, or on SQLite the engine's counter
//! ticked by the statement's naps) showed the statement running and
//! how long it still did once the caller had control back, and whether the connection was
//! reused for a follow-up `SELECT 1` (the same server connection id, from a pool of one).
//! Without `--drop` the stop is confirmed by the error tethered returns; with `--drop`
//! there is no error to say so, and the server's view is the evidence.

#[path = "common/backend.rs"]
mod backend;
#[path = "common/cli.rs"]
mod cli;
#[path = "common/server_view.rs"]
mod server_view;

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backend::{Backend, Db, on_pool};
use serde::Serialize;
use tethered::prelude::*;
use tethered::{PoolOptions, StatementOutcome};

const USAGE: &str =
    "usage: cancel_demo --backend sqlite|postgres|mysql --sleep-secs N --timeout-ms M [--drop]";

/// How long the server's view is watched for the statement to go.
const WATCH_LIMIT: Duration = Duration::from_secs(5);

/// The one line printed, in this order.
#[derive(Serialize)]
struct Report {
    backend: &'static str,
    mode: &'static str,
    outcome: &'static str,
    elapsed_ms: f64,
    server_confirmed_stop: bool,
    /// Whether the server's view showed the statement before the caller gave up.
    seen_running: bool,
    /// How long the server's view still showed the statement after the caller got
    /// control back.
    statement_gone_after_ms: Option<f64>,
    connection_reused: bool,
    error: Option<String>,
}

struct Options {
    backend: Backend,
    sleep_secs: f64,
    timeout: Duration,
    drop: bool,
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut backend, mut sleep_secs, mut timeout, mut drop) = (None, None, None, false);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => backend = Some(value()?.parse()?),
            "--sleep-secs" => {
                let text = value()?;
                let secs = text
                    .parse::<f64>()
                    .ok()
                    .filter(|secs| (0.0..=3600.0).contains(secs))
                    .ok_or(format!(
                        "--sleep-secs {text:?}: give seconds from 0 to 3600"
                    ))?;
                sleep_secs = Some(secs);
            }
            "--timeout-ms" => {
                let text = value()?;
                let millis = text
                    .parse::<u64>()
                    .map_err(|_| format!("--timeout-ms {text:?}: give whole milliseconds"))?;
                timeout = Some(Duration::from_millis(millis));
            }
            "--drop" => drop = true,
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Options {
        backend: backend.ok_or("--backend is required")?,
        sleep_secs: sleep_secs.ok_or("--sleep-secs is required")?,
        timeout: timeout.ok_or("--timeout-ms is required")?,
        drop,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match cli::options("cancel_demo", USAGE, parse_options) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    match demo(&options).await {
        Ok(report) => {
            let line = serde_json::to_string(&report).expect("a report is plain data");
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!(
                "cancel_demo: {error} ({} at {}){}",
                options.backend.name(),
                options.backend.url(),
                options.backend.hint()
            );
            ExitCode::FAILURE
        }
    }
}

/// Runs the sleep, gives up on it as `options` say, and reports what the server did.
async fn demo(options: &Options) -> Result<Report> {
    let root = Ctx::background();
    let bounded = root.with_timeout(Duration::from_secs(10));
    // A pool of one: the follow-up gets the sleep's connection back, or a new one if that
    // connection had to be closed.
    let one_connection = PoolOptions {
        max_connections: 1,
        ..PoolOptions::default()
    };
    let db = Db::connect(&bounded, options.backend, one_connection.clone()).await?;
    let observer = Db::connect(&bounded, options.backend, one_connection).await?;
    let marker = unique_marker();
    let (_, connection_before) = follow_up(&bounded, &db).await?;

    let (((outcome, error), elapsed), seen_running) = tokio::join!(
        give_up(&root, &db, options, &marker),
        observer.wait_until(&bounded, &marker, |running| running > 0, options.timeout),
    );
    let seen_running = seen_running?.is_some();
    let gone_after = observer
        .wait_until(&bounded, &marker, |running| running == 0, WATCH_LIMIT)
        .await?;
    let server_confirmed_stop = match &error {
        Some(error) => error.outcome() == Some(StatementOutcome::Stopped),
        None => outcome == "dropped" && seen_running && gone_after.is_some(),
    };
    let (one, connection_after) = follow_up(&bounded, &db).await?;
    Ok(Report {
        backend: options.backend.name(),
        mode: if options.drop { "drop" } else { "deadline" },
        outcome,
        elapsed_ms: millis(elapsed),
        server_confirmed_stop,
        seen_running,
        statement_gone_after_ms: gone_after.map(millis),
        connection_reused: one == 1 && connection_after == connection_before,
        error: error.map(|error| error.to_string()),
    })
}

/// Runs the sleep and gives up on it as `options` say; returns the outcome and how long
/// the caller waited.
async fn give_up(
    root: &Ctx,
    db: &Db,
    options: &Options,
    marker: &str,
) -> ((&'static str, Option<Error>), Duration) {
    let started = Instant::now();
    let outcome = if options.drop {
        let sleeping = db.sleep(root, options.sleep_secs, marker);
        match tokio::time::timeout(options.timeout, sleeping).await {
            Err(_) => ("dropped", None),
            Ok(result) => finished(result),
        }
    } else {
        let deadline = root.with_timeout(options.timeout);
        finished(db.sleep(&deadline, options.sleep_secs, marker).await)
    };
    (outcome, started.elapsed())
}

/// The outcome of a sleep that ran until it finished or its context ended.
fn finished(result: Result<()>) -> (&'static str, Option<Error>) {
    match result {
        Ok(()) => ("completed", None),
        Err(error) if error.is_deadline_exceeded() => ("deadline_exceeded", Some(error)),
        Err(error) => ("error", Some(error)),
    }
}

/// `SELECT 1`, with the server's id of the connection it ran on.
async fn follow_up(ctx: &Ctx, db: &Db) -> Result<(i64, i64)> {
    let text = match db {
        Db::Postgres(_) => "SELECT 1::int8, pg_backend_pid()::int8",
        Db::Mysql(_) => "SELECT 1, CAST(CONNECTION_ID() AS SIGNED)",
        // The id the engine view gave the connection when it opened.
        Db::Sqlite(_) => "SELECT 1, tethered_session()",
    };
    on_pool!(db, pool => pool.fetch_one(ctx, text).await)
}

/// A marker no other run uses, so the server's view shows this run's statement only.
fn unique_marker() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!("cancel_demo_{}_{nanos}", std::process::id())
}

/// Milliseconds to a tenth.
fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}
