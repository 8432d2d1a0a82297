//! Stops that race the end of the statement: before, during, and just after it. Whatever
//! the timing, no stop may ever reach a later statement on a kept connection.

use std::time::Duration;

use tethered::{DatabaseErrorKind, Error, Executor, Sql, StatementOutcome};

use crate::backend::{Backend, Stage};
use crate::random::Random;

const WORKERS: u64 = 4;
const TRIALS: u64 = 2_000;

/// How the trials ended.
#[derive(Default, Debug)]
struct Tally {
    finished_first: u32,
    stopped_and_kept: u32,
    completed_and_closed: u32,
    unknown_and_closed: u32,
    /// Later statements, run without a limit of their own, that MariaDB ended with its
    /// statement-timeout error: see [`stray_server_limit`].
    stray_server_limits: u32,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.finished_first += other.finished_first;
        self.stopped_and_kept += other.stopped_and_kept;
        self.completed_and_closed += other.completed_and_closed;
        self.unknown_and_closed += other.unknown_and_closed;
        self.stray_server_limits += other.stray_server_limits;
    }
}

/// The most trials of 2,000 whose next statement may meet MariaDB's stray timer.
const STRAY_SERVER_LIMITS_AT_MOST: u32 = 5;

/// Whether `error`, of a statement run without a deadline (so without a server-side limit
/// of its own), is MariaDB's statement-timeout error: the `max_statement_time` of an
/// earlier statement on the session, firing late. A known defect, not tethered's stop:
/// about one run in 18 of this test, MariaDB 10.11.19 fired an earlier statement's
/// `SET STATEMENT max_statement_time` (its deadline plus the 500 ms margin) on a later
/// statement of the kept connection, after tethered's own `KILL QUERY` had been answered
/// and its "interrupted" error read. tethered's kills (error 1317) still must never reach a
/// later statement; these are counted, bounded and printed until the cause is fixed (the
/// closing note of 2026-12-03).
fn stray_server_limit<B: Backend>(error: &Error) -> bool {
    B::NAME == "MariaDB" && error.database_kind() == Some(DatabaseErrorKind::StatementTimeout)
}

/// One trial's statement: a 5 ms sleep. Odd trials bind the duration, in a text new to the
/// session, so a stop can land while the statement is being prepared too.
fn statement<B: Backend>(trial: u64, worker: u64) -> Sql {
    if trial.is_multiple_of(2) {
        return Sql::new(format!("SELECT {}(0.005)", B::SLEEP));
    }
    let text = format!(
        "SELECT {}({}) /* {worker}.{trial} */",
        B::SLEEP,
        B::placeholder(1)
    );
    Sql::new(text).bind(0.005_f64)
}

pub async fn stops_racing_completion_never_reach_a_later_statement<B: Backend>() {
    let stage = Stage::<B>::alone(WORKERS as usize).await;
    let mut random = Random::seeded();
    let workers = (0..WORKERS).map(|worker| {
        let (pool, root) = (stage.pool.clone(), stage.root.clone());
        let mut random = random.fork();
        tokio::spawn(async move {
            let mut tally = Tally::default();
            for trial in 0..TRIALS / WORKERS {
                let mut connection = pool.acquire(&root).await.expect("acquire");
                // The sleep ends about 5 ms in; the stop lands 1 to 9 ms in.
                let delay = Duration::from_micros(1_000 + random.below(8_000));
                let sql = statement::<B>(trial, worker);
                let result = if trial % 4 < 2 {
                    let request = root.with_timeout(delay);
                    connection.execute(&request, sql).await
                } else {
                    let request = root.child();
                    let cancel = async {
                        tokio::time::sleep(delay).await;
                        request.cancel("race");
                    };
                    tokio::join!(connection.execute(&request, sql), cancel).0
                };
                match result {
                    Ok(_) => tally.finished_first += 1,
                    Err(Error::Canceled { outcome, .. }) => match outcome {
                        StatementOutcome::Stopped => tally.stopped_and_kept += 1,
                        StatementOutcome::Completed => tally.completed_and_closed += 1,
                        StatementOutcome::Unknown => tally.unknown_and_closed += 1,
                        StatementOutcome::NotSent => {}
                        StatementOutcome::Stopping => {
                            unreachable!("the stage's callers wait for every stop to settle")
                        }
                    },
                    Err(error) => panic!("trial {trial} (stop after {delay:?}): {error}"),
                }
                // A kept connection runs its next statement untouched; a closed one says so.
                if let Err(error) = connection.execute(&root, "SELECT 1").await {
                    if stray_server_limit::<B>(&error) {
                        tally.stray_server_limits += 1;
                        continue;
                    }
                    assert!(
                        matches!(error, Error::Connection { .. }),
                        "trial {trial}: a kept connection failed its next statement: {error}"
                    );
                }
            }
            tally
        })
    });
    let mut total = Tally::default();
    for worker in workers.collect::<Vec<_>>() {
        total.add(&worker.await.expect("worker"));
    }
    println!("{}: {TRIALS} trials: {total:?}", B::NAME);

    // Afterwards every pooled connection runs ten statements without a single stray stop.
    let mut connections = Vec::new();
    for _ in 0..stage.pool.status().open {
        connections.push(stage.pool.acquire(&stage.root).await.expect("acquire"));
    }
    for connection in &mut connections {
        for _ in 0..10 {
            match connection.execute(&stage.root, "SELECT 1").await {
                Err(error) if stray_server_limit::<B>(&error) => total.stray_server_limits += 1,
                clean => drop(clean.expect("a clean connection")),
            }
        }
    }
    assert!(
        total.stopped_and_kept > 0,
        "no trial stopped a statement: {total:?}"
    );
    assert!(
        total.finished_first > 0,
        "no trial finished first: {total:?}"
    );
    assert!(
        total.stray_server_limits <= STRAY_SERVER_LIMITS_AT_MOST,
        "MariaDB's stray timers hit later statements more than rarely: {total:?}"
    );
    drop(connections);
    stage.finish().await;
}
