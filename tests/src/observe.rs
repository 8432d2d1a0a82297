//! What an operator sees: each statement's tracing span (the OpenTelemetry database
//! conventions' fields, tethered's own), the background stop's span, the slow-statement
//! warning, and the pool's in-flight board; and never a bound value in any of them.

use std::time::Duration;

use tethered::{Ctx, Executor, PoolOptions, RequestId, Scope, Sql, StatementState};

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::capture;

/// A request's context under `root` with a deadline of `timeout`, carrying a new request
/// id; and the id.
fn request(root: &Ctx, timeout: Duration) -> (Scope, Ctx, String) {
    let scope = root.with_timeout(timeout);
    let id = unique("req");
    let ctx = scope.with_value(RequestId::new(&id).expect("a plain request id"));
    (scope, ctx, id)
}

/// `SELECT <placeholder>` with `value` bound, echoed back.
fn echo<B: Backend>(value: &str) -> Sql {
    Sql::new(format!("SELECT {} AS echoed", B::placeholder(1))).bind(value.to_owned())
}

/// A completed statement: one `db.statement` span with the conventions' fields, the rows
/// it returned, the deadline it had left, its request; no error; the bound value nowhere.
pub async fn a_completed_statement_is_a_span_with_the_conventions_fields<B: Backend>() {
    capture::install();
    let stage = Stage::<B>::new(2).await;
    let (_scope, ctx, id) = request(&stage.root, Duration::from_secs(30));
    let secret = unique("bound_secret");
    let (echoed,): (String,) = stage
        .pool
        .fetch_one(&ctx, echo::<B>(&secret))
        .await
        .expect("echo");
    assert_eq!(echoed, secret);

    let span = capture::span("db.statement", &id).await.fields;
    assert_eq!(span["db.system.name"], B::SYSTEM_NAME);
    assert_eq!(span["db.operation.name"], "SELECT");
    assert_eq!(span["db.query.summary"], "SELECT");
    assert_eq!(span["otel.kind"], "client");
    assert!(
        span["db.query.text"].contains(&B::placeholder(1)),
        "{span:?}"
    );
    assert_eq!(span["db.response.returned_rows"], "1");
    let left: f64 = span["tethered.deadline_remaining_ms"]
        .parse()
        .expect("milliseconds");
    assert!(0.0 < left && left <= 30_000.0, "{left} ms left");
    assert!(span.contains_key("db.namespace"), "{span:?}");
    assert_eq!(
        span.contains_key("server.address"),
        B::NAME != "SQLite",
        "{span:?}"
    );
    for absent in ["error.type", "tethered.cause", "tethered.outcome"] {
        assert!(!span.contains_key(absent), "{absent} in {span:?}");
    }
    assert!(!capture::mentions(&secret), "the bound value was recorded");
    stage.finish().await;
}

/// A statement the server refuses: its span names the error's type and the server's code,
/// and the table the statement read; the bound value appears nowhere.
pub async fn a_failed_statement_is_a_span_with_its_error_type<B: Backend>() {
    capture::install();
    let stage = Stage::<B>::new(2).await;
    let (_scope, ctx, id) = request(&stage.root, Duration::from_secs(30));
    let secret = unique("bound_secret");
    let missing = unique("missing");
    let sql = Sql::new(format!(
        "SELECT id FROM {missing} WHERE name = {}",
        B::placeholder(1)
    ))
    .bind(secret.clone());
    let error = stage
        .pool
        .fetch_all::<(i64,)>(&ctx, sql)
        .await
        .expect_err("no such table");
    assert!(error.as_database_error().is_some(), "{error:?}");

    let span = capture::span("db.statement", &id).await.fields;
    assert_eq!(span["error.type"], "database");
    assert_eq!(
        span["db.response.status_code"],
        error.code().expect("a code")
    );
    assert_eq!(span["db.query.summary"], format!("SELECT {missing}"));
    assert!(!span.contains_key("tethered.outcome"), "{span:?}");
    assert!(!capture::mentions(&secret), "the bound value was recorded");
    stage.finish().await;
}

/// A statement its deadline stopped: its span tells the cause, that the server stopped it,
/// and the error type; it is not logged as uncertain.
pub async fn a_deadline_stopped_statement_is_a_span_with_cause_and_outcome<B: Backend>() {
    capture::install();
    let stage = Stage::<B>::new(2).await;
    let (_scope, ctx, id) = request(&stage.root, Duration::from_millis(300));
    let marker = unique("observed_deadline");
    let error = stage
        .pool
        .execute(&ctx, B::sleep(10, &marker))
        .await
        .expect_err("a 10 s sleep under 300 ms");
    assert!(error.is_deadline_exceeded(), "{error:?}");

    let span = capture::span("db.statement", &id).await.fields;
    assert_eq!(span["tethered.cause"], "deadline_exceeded");
    assert_eq!(span["tethered.outcome"], "stopped");
    assert_eq!(span["error.type"], "deadline_exceeded");
    let events = capture::events(&id);
    let uncertain = events.iter().find(|event| {
        event
            .fields
            .get("message")
            .is_some_and(|message| message.contains("not confirmed"))
    });
    assert!(
        uncertain.is_none(),
        "a stopped statement is not uncertain: {uncertain:?}"
    );
    stage.time_until_gone(&marker, PROMPTLY).await;
    stage.finish().await;
}

/// A statement whose future is dropped: its background stop has a span of its own that
/// follows from the statement's, with the cause `dropped` and what the server did.
pub async fn a_dropped_statement_is_stopped_under_a_span_of_its_own<B: Backend>() {
    capture::install();
    let stage = Stage::<B>::new(2).await;
    let (_scope, ctx, id) = request(&stage.root, Duration::from_secs(30));
    let marker = unique("observed_drop");
    let sleep = B::sleep(10, &marker);
    let dropped = tokio::time::timeout(Duration::from_millis(300), async {
        stage.pool.execute(&ctx, sleep).await
    })
    .await;
    assert!(dropped.is_err(), "a 10 s sleep ended within 300 ms");

    let stop = capture::span("db.statement.stop", &id).await.fields;
    assert_eq!(stop["tethered.cause"], "dropped");
    assert_eq!(stop["tethered.outcome"], "stopped");
    assert_eq!(stop["db.system.name"], B::SYSTEM_NAME);
    assert!(stop.contains_key("tethered.stop_confirm_ms"), "{stop:?}");
    let statement = capture::span("db.statement", &id).await.fields;
    assert!(!statement.contains_key("tethered.outcome"), "{statement:?}");
    stage.time_until_gone(&marker, PROMPTLY).await;
    stage.finish().await;
}

/// A statement slower than the pool's threshold is logged at `WARN` in its span, without
/// its bound value.
pub async fn a_slow_statement_is_logged_at_warn_without_its_values<B: Backend>() {
    capture::install();
    let stage = Stage::<B>::new(1).await;
    let pool = stage.pool_with(PoolOptions {
        max_connections: 1,
        slow_statement_after: Some(Duration::ZERO),
        ..PoolOptions::default()
    });
    let (_scope, ctx, id) = request(&stage.root, Duration::from_secs(30));
    let secret = unique("bound_secret");
    let (_,): (String,) = pool
        .fetch_one(&ctx, echo::<B>(&secret))
        .await
        .expect("echo");

    capture::span("db.statement", &id).await;
    let events = capture::events(&id);
    let slow = events
        .iter()
        .find(|event| event.fields.get("message").map(String::as_str) == Some("slow statement"))
        .unwrap_or_else(|| panic!("no slow-statement warning: {events:?}"));
    assert_eq!(slow.level, tracing::Level::WARN);
    assert!(slow.fields.contains_key("elapsed_ms"), "{slow:?}");
    assert!(!capture::mentions(&secret), "the bound value was recorded");
    pool.close();
    stage.finish().await;
}

/// The pool's in-flight board lists a running statement with its request, summary,
/// deadline and state; once the request is cancelled and the server has stopped the
/// statement, nothing of it is left there.
pub async fn the_in_flight_board_shows_a_running_statement_then_nothing<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    let (scope, ctx, id) = request(&stage.root, Duration::from_secs(60));
    let marker = unique("board");
    let pool = stage.pool.clone();
    let sleep = B::sleep(10, &marker);
    let running = tokio::spawn(async move { pool.execute(&ctx, sleep).await });
    stage.wait_running(&marker, Duration::from_secs(10)).await;

    let ours = |statement: &tethered::InFlightStatement| {
        statement.request_id.as_ref().map(RequestId::as_str) == Some(id.as_str())
    };
    let board = stage.pool.in_flight();
    let entry = board
        .iter()
        .find(|statement| ours(statement))
        .unwrap_or_else(|| panic!("the running sleep is not on the board: {board:?}"));
    assert_eq!(entry.state, StatementState::Running);
    // SQLite's sleep is a recursive common table expression.
    assert!(
        ["SELECT", "WITH"].contains(&entry.summary.as_str()),
        "{entry:?}"
    );
    assert!(entry.text.contains(&marker), "{entry:?}");
    let left = entry.deadline_remaining.expect("the request's deadline");
    assert!(left <= Duration::from_secs(60), "{left:?}");

    scope.cancel("the client hung up");
    let outcome = running.await.expect("the statement's task");
    assert!(outcome.is_err_and(|error| error.is_cancellation()));
    // The stage's pool waits for every stop to settle: the board is clear once it returns.
    let board = stage.pool.in_flight();
    assert!(!board.iter().any(ours), "still on the board: {board:?}");
    stage.time_until_gone(&marker, PROMPTLY).await;
    stage.finish().await;
}
