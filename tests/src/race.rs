//! Stops that race the end of the statement: before, during, and just after it. Whatever
//! the timing, no stop may ever reach a later statement on a kept connection.

use std::time::Duration;

use tethered::{Error, Executor, Sql, StatementOutcome};

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
    /// Stopped, but the connection was closed rather than kept: on MariaDB, a statement
    /// that outlived its own server-side limit (its timer may still fire on the session).
    stopped_and_closed: u32,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.finished_first += other.finished_first;
        self.stopped_and_kept += other.stopped_and_kept;
        self.completed_and_closed += other.completed_and_closed;
        self.unknown_and_closed += other.unknown_and_closed;
        self.stopped_and_closed += other.stopped_and_closed;
    }
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
                let mut stopped = false;
                match result {
                    Ok(_) => tally.finished_first += 1,
                    Err(Error::Canceled { outcome, .. }) => match outcome {
                        StatementOutcome::Stopped => stopped = true,
                        StatementOutcome::Completed => tally.completed_and_closed += 1,
                        StatementOutcome::Unknown => tally.unknown_and_closed += 1,
                        StatementOutcome::NotSent => {}
                        StatementOutcome::Stopping => {
                            unreachable!("the stage's callers wait for every stop to settle")
                        }
                    },
                    Err(error) => panic!("trial {trial} (stop after {delay:?}): {error}"),
                }
                // A kept connection runs its next statement untouched (never a stop meant
                // for an earlier one: tethered's kill, or MariaDB's timer of an earlier
                // limit); a closed one says so.
                match connection.execute(&root, "SELECT 1").await {
                    Ok(_) if stopped => tally.stopped_and_kept += 1,
                    Ok(_) => {}
                    Err(Error::Connection { .. }) if stopped => tally.stopped_and_closed += 1,
                    Err(Error::Connection { .. }) => {}
                    Err(error) => {
                        panic!(
                            "trial {trial}: a kept connection failed its next statement: {error}"
                        )
                    }
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
            connection
                .execute(&stage.root, "SELECT 1")
                .await
                .expect("a clean connection");
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
    drop(connections);
    stage.finish().await;
}
