//! Tasks tied to a request's context, and the named way to detach from it.

use std::sync::Arc;
use std::time::Duration;

use tethered::{Cause, Ctx, Error, Executor, SCOPE_ENDED, Sql};

use crate::backend::{Backend, PROMPTLY, Stage, unique};

/// A task spawned from a request scope runs a 10 s sleep; the scope ends: the task is
/// aborted, reports why, and its statement is gone from the server's view long before the
/// sleep would have ended; the pool's connection is usable at once.
pub async fn a_task_of_a_scope_that_ends_is_aborted_and_its_statement_stopped<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let marker = unique("task");
    let request = stage.root.child();
    let pool = stage.pool.clone();
    let sleep = B::sleep(10, &marker);
    let task = request.spawn(move |ctx| async move { pool.execute(&ctx, sleep).await });
    stage.wait_running(&marker, Duration::from_secs(10)).await;

    drop(request);

    let ended = Arc::<str>::from(SCOPE_ENDED);
    match task.await {
        // The scope's end reached the task before its statement reported.
        Err(Cause::Canceled { reason }) => assert_eq!(reason, ended),
        // Or the statement's own cancel came back first, with the same cause.
        Ok(Err(Error::Canceled {
            cause: Cause::Canceled { reason },
            ..
        })) => assert_eq!(reason, ended),
        other => panic!("expected the task to end with its scope, got {other:?}"),
    }
    stage.time_until_gone(&marker, PROMPTLY).await;
    let (one,): (i64,) = stage
        .pool
        .fetch_one(&stage.root.with_timeout(PROMPTLY), "SELECT 1")
        .await
        .expect("the pool's one connection is usable after the task's stop");
    assert_eq!(one, 1);
    stage.finish().await;
}

/// An audit write under `ctx.without_cancel()` completes after the request that started it
/// was cancelled, and carries the request's values; the request's own statement does not.
pub async fn a_detached_write_completes_after_its_request_is_cancelled<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    let table = unique("audit");
    stage
        .setup(format!(
            "CREATE TABLE {table} (request VARCHAR(40) NOT NULL){}",
            B::TABLE_OPTIONS
        ))
        .await;
    let request = stage.root.child();
    let ctx: Ctx = request.with_value(String::from("req-7"));
    let audit = ctx.without_cancel();
    request.cancel("client hung up");

    let refused = stage
        .pool
        .execute(&ctx, Sql::new(format!("INSERT INTO {table} VALUES ('x')")))
        .await;
    assert!(
        matches!(refused, Err(Error::Canceled { .. })),
        "the cancelled request sends nothing: {refused:?}"
    );
    let bounded = audit.with_timeout(Duration::from_secs(10));
    let id = bounded
        .value::<String>()
        .expect("the request's value")
        .clone();
    let insert = format!("INSERT INTO {table} VALUES ({})", B::placeholder(1));
    stage
        .pool
        .execute(&bounded, Sql::new(insert).bind(id))
        .await
        .expect("the detached write runs");
    let rows: Vec<(String,)> = stage
        .pool
        .fetch_all(
            &stage.root.with_timeout(PROMPTLY),
            format!("SELECT request FROM {table}"),
        )
        .await
        .expect("reading the audit table");
    assert_eq!(rows, vec![("req-7".to_owned(),)]);
    stage.finish().await;
}
