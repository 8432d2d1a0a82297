//! Workload 5: a long server-side sleep (on SQLite a CPU-bound count), cancelled 20 ms in. How soon the caller has
//! control back, how soon the statement is gone from the server's activity view, and how
//! long the next statement on that (1-connection) pool waits.
//!
//! tethered is cancelled three ways: its request scope is cancelled ([`Stop::ScopeCancelled`],
//! a client hanging up), its deadline passes ([`Stop::DeadlinePassed`]), or the future is
//! dropped with no deadline on the context ([`Stop::FutureDropped`], what
//! `tokio::time::timeout` does). The raw drivers and sqlx have no automatic cancel, so they
//! are only ever dropped; their statement then runs to its end, so they sleep for less
//! (3 s rather than 10 s) and run fewer trials.

use std::sync::Arc;
use std::time::Duration;

use tethered::{Ctx, StatementOutcome};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::backend::Observer;
use crate::contestant::{BoxError, Contestant, Result};
use crate::lineup::{Lineup, Task, Who};
use crate::measure::millis;

/// How the statement is abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `Scope::cancel` on the request's scope (the scope also has a long deadline).
    ScopeCancelled,
    /// The request scope's own deadline passes.
    DeadlinePassed,
    /// The statement's future is dropped (`tokio::time::timeout`); the scope has a long
    /// deadline and is never cancelled.
    FutureDropped,
}

impl Stop {
    /// Its name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Stop::ScopeCancelled => "scope cancelled",
            Stop::DeadlinePassed => "deadline passed",
            Stop::FutureDropped => "future dropped",
        }
    }
}

/// How the cancellation workload is run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// When the statement is abandoned, after it was sent.
    pub cancel_after: Duration,
    /// Trials for each way of stopping a contestant that stops with its context.
    pub trials: usize,
    /// How long such a contestant's statement would sleep.
    pub sleep: Duration,
    /// Trials for each contestant that can only be dropped.
    pub abandon_trials: usize,
    /// How long their statement sleeps (it runs to its end every time).
    pub abandon_sleep: Duration,
}

/// The verdict threshold: a statement still in the activity view this long after the
/// cancel is an orphan.
pub const ORPHAN_AFTER: Duration = Duration::from_millis(400);

/// What one trial saw.
#[derive(Clone, Debug)]
pub struct Trial {
    /// Whether the observer saw the statement running before the cancel.
    pub seen_running: bool,
    /// From the cancel to the caller having control back.
    pub returned_after: Duration,
    /// How late tokio's timer fired the harness's own cancel (`None` when the cancel was
    /// the context's deadline, whose timer is tethered's): the part of the figures that is
    /// the timer's, the same for every contestant.
    pub timer_late: Option<Duration>,
    /// From the cancel to the first poll of the activity view that no longer shows the
    /// statement (`None`: still there when the observer gave up).
    pub gone_after: Option<Duration>,
    /// How long the next statement (a point select on the same 1-connection pool, sent as
    /// soon as the caller had control back) took.
    pub next_statement: Duration,
    /// Why the next statement failed, if it did.
    pub next_error: Option<String>,
    /// Whether the caller was told the server confirmed the stop (`None` when the caller
    /// cannot know: the future was dropped).
    pub confirmed: Option<bool>,
}

impl Trial {
    /// Whether the statement outlived the cancel by more than [`ORPHAN_AFTER`].
    pub fn orphaned(&self) -> bool {
        self.gone_after.is_none_or(|gone| gone > ORPHAN_AFTER)
    }
}

/// Every trial of one contestant stopped one way.
#[derive(Clone, Debug)]
pub struct Series {
    /// The contestant.
    pub who: Who,
    /// How it was stopped.
    pub stop: Stop,
    /// How long the statement would have slept.
    pub sleep: Duration,
    /// How many trials to run.
    pub planned: usize,
    /// The trials.
    pub trials: Vec<Trial>,
}

/// One trial, on any contestant: sends the sleep, stops it `cancel_after` later, and
/// meanwhile watches the activity view.
struct CancelTrial<'a, O> {
    observer: &'a mut O,
    root: &'a Ctx,
    stop: Stop,
    sql: &'static str,
    marker: &'a str,
    cancel_after: Duration,
    sleep: Duration,
}

/// A request scope's deadline when the deadline is not what stops the statement.
const LONG_DEADLINE: Duration = Duration::from_secs(60);

/// What the caller saw of the statement it abandoned.
struct Abandoned {
    /// When it was abandoned: the cancel call, the deadline, or the drop.
    at: Instant,
    /// When the caller had control back.
    returned_at: Instant,
    /// What the statement returned (`None`: it was dropped and returned nothing).
    result: Option<Result<()>>,
}

/// Sends `sql` on `contestant` and abandons it at `cancel_at`, the way `stop` says.
async fn abandon<C: Contestant>(
    contestant: &C,
    root: &Ctx,
    stop: Stop,
    sql: &'static str,
    cancel_at: Instant,
) -> Abandoned {
    let (at, result) = match stop {
        Stop::ScopeCancelled => {
            let request = root.with_timeout(LONG_DEADLINE);
            let cancel = async {
                sleep_until(cancel_at).await;
                let at = Instant::now();
                request.cancel("the client went away");
                at
            };
            let (result, at) = tokio::join!(contestant.long_statement(&request, sql), cancel);
            (at, Some(result))
        }
        Stop::DeadlinePassed => {
            let request = root.with_deadline(cancel_at);
            (
                cancel_at,
                Some(contestant.long_statement(&request, sql).await),
            )
        }
        Stop::FutureDropped => {
            let request = root.with_timeout(LONG_DEADLINE);
            match timeout_at(cancel_at, contestant.long_statement(&request, sql)).await {
                Ok(result) => (Instant::now(), Some(result)),
                Err(_elapsed) => (Instant::now(), None),
            }
        }
    };
    Abandoned {
        at,
        returned_at: Instant::now(),
        result,
    }
}

impl<O: Observer> Task for CancelTrial<'_, O> {
    type Output = Result<Trial>;

    async fn run<C: Contestant>(self, contestant: &Arc<C>) -> Result<Trial> {
        let CancelTrial {
            observer,
            root,
            stop,
            sql,
            marker,
            cancel_after,
            sleep,
        } = self;
        let cancel_at = Instant::now() + cancel_after;
        let caller = async {
            let abandoned = abandon(&**contestant, root, stop, sql, cancel_at).await;
            let next = contestant.point_select(1).await;
            let next_statement = abandoned.returned_at.elapsed();
            (abandoned, next, next_statement)
        };
        let watcher = async {
            let seen = watch_until(observer, marker, cancel_at, true).await?;
            sleep_until(cancel_at).await;
            let limit = cancel_at + sleep + Duration::from_secs(2);
            let gone = match watch_until(observer, marker, limit, false).await? {
                // Where the view knows when the statement last worked, that is when it
                // stopped (SQLite's counter), not the look that found it quiet.
                Some(seen_gone) => Some(observer.stopped_at(marker).await?.unwrap_or(seen_gone)),
                None => None,
            };
            Ok::<_, BoxError>((seen, gone))
        };
        let ((abandoned, next, next_statement), watched) = tokio::join!(caller, watcher);
        let (seen, gone) = watched?;
        let confirmed = match abandoned.result {
            Some(Ok(())) => {
                return Err(format!("`{sql}` completed although it was cancelled").into());
            }
            Some(Err(error)) => Some(
                error
                    .downcast_ref::<tethered::Error>()
                    .and_then(tethered::Error::outcome)
                    == Some(StatementOutcome::Stopped),
            ),
            None => None,
        };
        Ok(Trial {
            seen_running: seen.is_some(),
            returned_after: abandoned
                .returned_at
                .saturating_duration_since(abandoned.at),
            timer_late: (stop != Stop::DeadlinePassed)
                .then(|| abandoned.at.saturating_duration_since(cancel_at)),
            gone_after: gone.map(|at| at.saturating_duration_since(abandoned.at)),
            next_statement,
            next_error: next.err().map(|error| error.to_string()),
            confirmed,
        })
    }
}

/// Polls the activity view until the statement marked `marker` is running (`present`) or
/// gone (`!present`), or until `limit`; returns when that was seen. Polls back to back while
/// a cancel's effect is being timed, and every 10 ms once the statement has outlived
/// [`ORPHAN_AFTER`] (the poll's resolution then matters no more).
async fn watch_until<O: Observer>(
    observer: &mut O,
    marker: &str,
    limit: Instant,
    present: bool,
) -> Result<Option<Instant>> {
    let started = Instant::now();
    loop {
        let running = observer.running(marker).await? > 0;
        let now = Instant::now();
        if running == present {
            return Ok(Some(now));
        }
        if now >= limit {
            return Ok(None);
        }
        if present {
            tokio::time::sleep(Duration::from_millis(1)).await;
        } else if now.duration_since(started) > ORPHAN_AFTER {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Runs the cancellation workload on every contestant of `lineup` (1-connection pools),
/// its statements marked with `marker` plus the contestant and the way it is stopped.
/// Contestants that stop with their context are tried every way, round robin; the others
/// are only dropped, in turn.
pub async fn measure<R, S, T, O>(
    lineup: &Lineup<R, S, T>,
    observer: &mut O,
    plan: &Plan,
    sleep_sql: impl Fn(Duration, &str) -> String,
    marker: &str,
) -> Result<Vec<Series>>
where
    R: Contestant,
    S: Contestant,
    T: Contestant,
    O: Observer,
{
    let root = Ctx::background();
    let mut series = Vec::new();
    for who in Who::ALL {
        if lineup.stops_with_ctx(who) {
            for stop in [
                Stop::ScopeCancelled,
                Stop::DeadlinePassed,
                Stop::FutureDropped,
            ] {
                series.push(Series::new(who, stop, plan.sleep, plan.trials));
            }
        } else {
            series.push(Series::new(
                who,
                Stop::FutureDropped,
                plan.abandon_sleep,
                plan.abandon_trials,
            ));
        }
    }
    let statements: Vec<(&'static str, String)> = series
        .iter()
        .map(|series| {
            let marker = format!("{marker} {} {}", series.who, series.stop.name());
            (&*sleep_sql(series.sleep, &marker).leak(), marker)
        })
        .collect();
    // The observer's first look at the activity view after a long idle can take longer
    // than the 20 ms before the cancel; take it now, so the trials see the statements.
    observer.running(marker).await?;
    let most_trials = plan.trials.max(plan.abandon_trials);
    for trial in 0..most_trials {
        for (series, (sql, marker)) in series.iter_mut().zip(&statements) {
            if trial >= series.planned {
                continue;
            }
            let task = CancelTrial {
                observer: &mut *observer,
                root: &root,
                stop: series.stop,
                sql,
                marker,
                cancel_after: plan.cancel_after,
                sleep: series.sleep,
            };
            series.trials.push(lineup.run(series.who, task).await?);
        }
    }
    Ok(series)
}

impl Series {
    fn new(who: Who, stop: Stop, sleep: Duration, trials: usize) -> Series {
        Series {
            who,
            stop,
            sleep,
            planned: trials,
            trials: Vec::with_capacity(trials),
        }
    }

    /// `what` of every trial, in milliseconds (a statement never seen gone counts as the
    /// whole sleep).
    pub fn millis(&self, what: impl Fn(&Trial) -> Option<Duration>) -> Vec<f64> {
        self.trials
            .iter()
            .map(|trial| millis(what(trial).unwrap_or(self.sleep)))
            .collect()
    }
}
