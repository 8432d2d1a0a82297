//! Every way a statement is stopped, asserted on the server's own view of what runs.

use std::sync::OnceLock;
use std::time::Duration;

use tethered::{Cause, Error, Executor, Model, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::models::{Event, events};

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A statement that runs until it is stopped.
#[derive(Clone, Copy, Debug)]
enum Workload {
    /// A server-side sleep: waits.
    Sleep,
    /// A count over billions of generated rows: CPU-bound.
    Busy,
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

fn cancellation(error: Error) -> (Cause, StatementOutcome) {
    match error {
        Error::Canceled { cause, outcome } => (cause, outcome),
        other => panic!("expected a cancellation, got {other:?}"),
    }
}

/// Runs `workload` on a held connection, ends it with `trigger` 100 ms in, and checks what
/// must hold on any machine: the caller gets the cause and the server's confirmation
/// promptly after the trigger, the statement is gone from the server's view promptly after
/// that (long before it would have ended), and the same session then runs the next
/// statement without waiting behind it. How many milliseconds each step takes is printed
/// here and measured by the benchmark.
async fn stop<B: Backend>(workload: Workload, trigger: Trigger) {
    let stage = Stage::<B>::alone(1).await;
    let root = &stage.root;
    let marker = unique("stop");
    let statement = match workload {
        Workload::Sleep => B::sleep(10, &marker),
        Workload::Busy => B::busy(&marker),
    };
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("session");
    let running = stage.wait_running(&marker, Duration::from_secs(5));
    // When the trigger fired: a sleeping task may wake late on a busy machine, and that
    // delay is the test's, not tethered's.
    let triggered = OnceLock::new();
    let start = Instant::now();
    let result = match trigger {
        Trigger::Deadline => {
            let request = root.with_timeout(ms(100));
            let _ = triggered.set(request.deadline().expect("a deadline"));
            Some(tokio::join!(connection.execute(&request, statement), running).0)
        }
        Trigger::Cancel => {
            let request = root.child();
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                let _ = triggered.set(Instant::now());
                request.cancel("user pressed stop");
            };
            Some(tokio::join!(connection.execute(&request, statement), running, cancel).0)
        }
        Trigger::ParentCancel => {
            let request = root.child();
            let step = request.with_timeout(Duration::from_secs(60));
            let cancel = async {
                tokio::time::sleep(ms(100)).await;
                let _ = triggered.set(Instant::now());
                request.cancel("request aborted");
            };
            Some(tokio::join!(connection.execute(&step, statement), running, cancel).0)
        }
        Trigger::DroppedByTimeout => {
            let timed = tokio::time::timeout(ms(100), connection.execute(root, statement));
            let (timed_out, ()) = tokio::join!(timed, running);
            assert!(timed_out.is_err(), "the timeout dropped the statement");
            None
        }
        Trigger::DroppedBySelect => {
            let statement = connection.execute(root, statement);
            let ((), ()) = tokio::join!(
                async {
                    tokio::select! {
                        _ = statement => panic!("{workload:?} finished"),
                        () = tokio::time::sleep(ms(100)) => {}
                    }
                },
                running
            );
            None
        }
    };
    let returned = start.elapsed();
    let after_trigger = triggered.get().map(|at| at.elapsed());
    let gone = stage.time_until_gone(&marker, Duration::from_secs(5)).await;
    let next = Instant::now();
    let after = connection.fetch_one::<(u64,)>(root, B::SESSION_ID).await;
    let next = next.elapsed();
    println!(
        "{} {workload:?} / {trigger:?}: returned after {returned:?} ({after_trigger:?} after \
         the trigger), gone from the server {gone:?} later, next statement {next:?}",
        B::NAME
    );

    if let Some(result) = result {
        let (cause, outcome) = cancellation(result.expect_err("it runs for minutes"));
        let reason = match trigger {
            Trigger::Cancel => Some("user pressed stop"),
            Trigger::ParentCancel => Some("request aborted"),
            _ => None,
        };
        assert_eq!(cause.reason(), reason, "{cause:?}");
        assert_eq!(
            cause == Cause::DeadlineExceeded,
            matches!(trigger, Trigger::Deadline)
        );
        assert_eq!(outcome, StatementOutcome::Stopped);
        let after_trigger = after_trigger.expect("the trigger fired");
        assert!(
            after_trigger <= PROMPTLY,
            "returned {after_trigger:?} after the trigger"
        );
    }
    assert!(gone <= PROMPTLY, "still running {gone:?} after the return");
    // On a starved machine the server's own limit (128 ms for a 100 ms deadline) can stop
    // the statement before the client's cancel arrives; the connection is then closed by
    // design, since the cancel may still be on its way.
    let closed_by_design =
        matches!(trigger, Trigger::Deadline) && returned >= ms(128) && after.is_err();
    if closed_by_design {
        assert!(matches!(after, Err(Error::Connection { .. })), "{after:?}");
    } else {
        let (same,) = after.expect("the same connection runs the next statement");
        assert_eq!(same, session, "the connection was kept");
        assert!(next < PROMPTLY, "the next statement waited {next:?}");
    }
    drop(connection);
    stage.finish().await;
}

/// Names each workload and trigger pair, for the suite's list.
macro_rules! stops {
    ($($name:ident: $workload:ident, $trigger:ident;)*) => {$(
        pub async fn $name<B: Backend>() {
            stop::<B>(Workload::$workload, Trigger::$trigger).await;
        }
    )*};
}

stops! {
    a_deadline_stops_a_sleep_on_the_server: Sleep, Deadline;
    an_explicit_cancel_stops_a_sleep_on_the_server: Sleep, Cancel;
    a_parent_cancel_stops_a_sleep_on_the_server: Sleep, ParentCancel;
    a_future_dropped_by_timeout_stops_a_sleep_on_the_server: Sleep, DroppedByTimeout;
    a_future_dropped_by_select_stops_a_sleep_on_the_server: Sleep, DroppedBySelect;
    a_deadline_stops_a_busy_statement_on_the_server: Busy, Deadline;
    an_explicit_cancel_stops_a_busy_statement_on_the_server: Busy, Cancel;
    a_parent_cancel_stops_a_busy_statement_on_the_server: Busy, ParentCancel;
    a_future_dropped_by_timeout_stops_a_busy_statement_on_the_server: Busy, DroppedByTimeout;
    a_future_dropped_by_select_stops_a_busy_statement_on_the_server: Busy, DroppedBySelect;
}

pub async fn a_done_context_sends_nothing<B: Backend>() {
    let stage = Stage::<B>::new(2).await;
    stage.setup(events()).await;
    let request = stage.root.child();
    let mut connection = stage.pool.acquire(&request).await.expect("acquire");
    request.cancel("too late");
    let event = Event {
        kind: "never".to_owned(),
        amount: 1,
    };

    let held = Event::insert_many(&request, &mut connection, std::slice::from_ref(&event)).await;
    let pooled = Event::insert_many(&request, &stage.pool, std::slice::from_ref(&event)).await;
    let queried = Event::query().all(&request, &stage.pool).await.map(drop);
    let begun = stage.pool.begin(&request).await.map(drop);

    for result in [held.map(drop), pooled.map(drop), queried, begun] {
        let (cause, outcome) = cancellation(result.expect_err("the context had ended"));
        assert_eq!(
            (cause.reason(), outcome),
            (Some("too late"), StatementOutcome::NotSent)
        );
    }
    let stored = Event::query()
        .count(&stage.root, &stage.pool)
        .await
        .expect("count");
    assert_eq!(stored, 0, "the server received an insert");
    drop(connection);
    stage.finish().await;
}

pub async fn an_exhausted_pool_ends_the_wait_at_the_deadline<B: Backend>() {
    let stage = Stage::<B>::alone(1).await;
    let busy = stage.pool.acquire(&stage.root).await.expect("acquire");
    let request = stage.root.with_timeout(ms(150));
    let start = Instant::now();

    let waited = stage.pool.fetch_all::<(i64,)>(&request, "SELECT 1").await;

    let elapsed = start.elapsed();
    let (cause, outcome) = cancellation(waited.expect_err("no connection was free"));
    assert_eq!(
        (cause, outcome),
        (Cause::DeadlineExceeded, StatementOutcome::NotSent)
    );
    assert!(
        elapsed >= ms(150) && elapsed < ms(150) + PROMPTLY,
        "waited {elapsed:?}"
    );
    drop(busy);
    stage.finish().await;
}

pub async fn a_cancel_works_while_every_pooled_connection_is_busy<B: Backend>() {
    let stage = Stage::<B>::alone(2).await;
    let root = &stage.root;
    let mut first = stage.pool.acquire(root).await.expect("acquire");
    let mut second = stage.pool.acquire(root).await.expect("acquire");
    let markers = [unique("busy"), unique("busy")];
    let request = root.child();
    let cancel = async {
        for marker in &markers {
            stage.wait_running(marker, Duration::from_secs(5)).await;
        }
        request.cancel("shutting down");
        Instant::now()
    };

    let (one, two, cancelled_at) = tokio::join!(
        first.execute(&request, B::sleep(10, &markers[0])),
        second.execute(&request, B::sleep(10, &markers[1])),
        cancel
    );

    let returned = cancelled_at.elapsed();
    for result in [one, two] {
        assert_eq!(
            result.expect_err("cancelled").outcome(),
            Some(StatementOutcome::Stopped)
        );
    }
    assert!(
        returned <= PROMPTLY,
        "returned {returned:?} after the cancel"
    );
    for marker in &markers {
        assert!(stage.time_until_gone(marker, Duration::from_secs(5)).await <= PROMPTLY);
    }
    for connection in [&mut first, &mut second] {
        connection
            .execute(root, "SELECT 1")
            .await
            .expect("the connection was kept");
    }
    assert_eq!(
        stage.pool.status().open,
        2,
        "the cancel took no pooled connection"
    );
    drop((first, second));
    stage.finish().await;
}

pub async fn a_session_ended_from_outside_is_a_connection_error_and_the_pool_heals<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let marker = unique("ended");
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("session");
    let end_it = async {
        stage.wait_running(&marker, Duration::from_secs(5)).await;
        stage.as_observer(B::terminate(session)).await;
    };

    let (result, ()) = tokio::join!(connection.execute(root, B::sleep(10, &marker)), end_it);

    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    drop(connection);
    let (new,): (u64,) = stage
        .pool
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("a new connection");
    assert_ne!(new, session);
    assert_eq!(stage.pool.status().open, 1);
    stage.finish().await;
}

pub async fn the_server_stops_a_statement_by_itself_when_the_client_stops_participating<
    B: Backend,
>() {
    let stage = Stage::<B>::alone(1).await;
    let marker = unique("orphan");
    let mut connection = stage.pool.acquire(&stage.root).await.expect("acquire");
    let request = stage.root.with_timeout(ms(300));
    let start = Instant::now();

    let mut statement = Box::pin(connection.execute(&request, B::sleep(10, &marker)));
    tokio::select! {
        _ = &mut statement => panic!("the sleep finished"),
        () = stage.wait_running(&marker, Duration::from_secs(5)) => {}
    }
    // A hung or partitioned client: its future is neither polled nor dropped again, so no
    // cancel is ever sent. Only the server's own limit can stop the statement.
    std::mem::forget(statement);
    stage.time_until_gone(&marker, Duration::from_secs(5)).await;
    let stopped_at = start.elapsed();

    println!(
        "{}: the server stopped the orphan {stopped_at:?} after it began",
        B::NAME
    );
    assert!(
        stopped_at >= ms(300),
        "stopped before the deadline: {stopped_at:?}"
    );
    // Its limit is the 300 ms left plus the backend's margin, rounded up to a power of two
    // (512 ms on PostgreSQL, 1,024 ms on MariaDB); the sleep would take 10 s.
    let limit = (ms(300) + B::SERVER_LIMIT_MARGIN)
        .as_millis()
        .next_power_of_two();
    let limit = ms(u64::try_from(limit).expect("a limit in milliseconds"));
    assert!(stopped_at < limit + PROMPTLY, "stopped at {stopped_at:?}");
    stage.finish().await;
}
