//! The promise under contention (issue 19): no stop is ever lost, on any path, at any load.
//!
//! Three workloads, each asserted on the server's own view of what runs:
//! - [`storm`]: workers sharing a pool run statements of random kinds (a short `SELECT n`, a
//!   10 s server-side sleep, a CPU-bound count), with a random trigger (an explicit cancel,
//!   a deadline, a dropped future, or none) at a random point. A statement whose context
//!   never ended must return its own value; one whose context ended must report the right
//!   cause; none may be left running on the server.
//! - [`herds`]: eight statements cancelled at once through one scope, once the server runs
//!   all eight: every one must be gone.
//! - [`slow_network`]: a statement cancelled (or past its deadline) while it is still on its
//!   way through a slow link, new to the connection or already prepared on it.
//!
//! The workloads take their sizes as parameters and return what they counted, so the
//! benchmark (`tethered-bench --storm`) runs the same code at scale and prints the figures;
//! the suite's tests below run them small and assert.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tethered::{
    Cause, Ctx, DatabaseErrorKind, Error, Executor, PoolOptions, Result, Sql, StatementOutcome,
};
use tokio::time::{Instant, sleep, sleep_until, timeout_at};

use crate::backend::{Backend, Stage, unique};
use crate::proxy::{Proxy, server_address};
use crate::random::{Random, seed};

/// The reason every cancel of these workloads gives.
const REASON: &str = "storm";

/// How long a stopped statement may still show in the server's view once its stop has
/// settled (the cancel grace has passed): far beyond what a stop takes, far below the 10 s
/// a lost sleep would go on for.
pub const SETTLE: Duration = Duration::from_secs(3);

/// How many notes of failures a report keeps.
const NOTES: usize = 20;

/// A statement's context deadline when its deadline is not what ends it.
const LONG_DEADLINE: Duration = Duration::from_secs(60);

/// The pool's cancel grace: after it, no stop of the pool goes on.
fn cancel_grace() -> Duration {
    PoolOptions::default().cancel_grace
}

/// What a statement does on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// `SELECT n`, literal (a text new to the connection) or bound (prepared once per
    /// connection).
    Value {
        /// The value it must return.
        n: i64,
        /// Whether `n` is bound rather than written in the text.
        bound: bool,
    },
    /// A 10 s server-side sleep, its duration literal or bound.
    Sleep {
        /// Whether the duration is bound.
        bound: bool,
    },
    /// A CPU-bound count that runs for minutes.
    Busy,
}

/// What ends a statement's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Nothing: it must complete with its own result.
    Never,
    /// `Scope::cancel`.
    Cancel,
    /// The context's deadline.
    Deadline,
    /// The future is dropped (the context itself never ends).
    Drop,
}

/// One statement of a workload: what, how it is ended, and when after it is sent.
#[derive(Clone, Copy, Debug)]
pub struct Shot {
    /// What it does.
    pub work: Work,
    /// What ends it.
    pub trigger: Trigger,
    /// When the trigger fires, after the statement is sent.
    pub after: Duration,
}

impl Shot {
    /// A random statement: a long one always gets a trigger; `after` is up to `latest`.
    fn draw(random: &mut Random, latest: Duration) -> Shot {
        let bound = random.below(2) == 0;
        let work = match random.below(10) {
            0..=4 => Work::Value {
                n: random.below(1_000_000_000) as i64,
                bound,
            },
            5..=7 => Work::Sleep { bound },
            _ => Work::Busy,
        };
        let trigger = match (work, random.below(4)) {
            (Work::Value { .. }, 0) => Trigger::Never,
            (_, 0 | 1) => Trigger::Cancel,
            (_, 2) => Trigger::Deadline,
            _ => Trigger::Drop,
        };
        let latest = u64::try_from(latest.as_micros()).unwrap_or(u64::MAX);
        let after = Duration::from_micros(random.below(latest.saturating_add(1)));
        Shot {
            work,
            trigger,
            after,
        }
    }

    /// The statement, tagged with `marker`; bound forms are tagged with `shared_marker`
    /// instead, a text every statement of its kind from one worker shares, so it is
    /// prepared once per connection.
    fn sql<B: Backend>(&self, marker: &str, shared_marker: &str) -> Sql {
        let p = B::placeholder(1);
        match self.work {
            Work::Value { n, bound: false } => Sql::new(format!("SELECT {n} /* {marker} */")),
            Work::Value { n, bound: true } => {
                Sql::new(format!("SELECT CAST({p} AS INTEGER) /* {shared_marker} */")).bind(n)
            }
            Work::Sleep { bound: false } => Sql::new(B::sleep(10, marker)),
            Work::Sleep { bound: true } => {
                Sql::new(format!("SELECT {}({p}) /* {shared_marker} */", B::SLEEP)).bind(10.0)
            }
            Work::Busy => Sql::new(B::busy(marker)),
        }
    }

    /// The marker that finds the statement in the server's view.
    fn marker<'m>(&self, marker: &'m str, shared_marker: &'m str) -> &'m str {
        match self.work {
            Work::Value { bound: true, .. } | Work::Sleep { bound: true } => shared_marker,
            _ => marker,
        }
    }
}

/// What became of one statement, as its caller saw it.
struct Fired {
    /// `None`: the future was dropped. `Some(Ok(Some(n)))`: a value statement returned `n`.
    result: Option<Result<Option<i64>>>,
    /// Whether the statement's context had ended when its result came back.
    ended: bool,
    /// When the trigger took effect (the cancel, the deadline, the drop), if it did.
    triggered: Option<Instant>,
    /// When the caller had control back.
    returned: Instant,
}

/// Runs `sql` on `executor` under `ctx`: a value statement's value, or `None`.
async fn run<B: Backend, E: Executor<B::Driver>>(
    executor: E,
    ctx: &Ctx,
    sql: Sql,
    value: bool,
) -> Result<Option<i64>> {
    if value {
        let (n,): (i64,) = executor.fetch_one(ctx, sql).await?;
        Ok(Some(n))
    } else {
        executor.execute(ctx, sql).await.map(|_| None)
    }
}

/// Sends `sql` on `executor` and ends it as `shot` says.
async fn fire<B: Backend, E: Executor<B::Driver>>(
    executor: E,
    root: &Ctx,
    shot: &Shot,
    sql: Sql,
) -> Fired {
    let value = matches!(shot.work, Work::Value { .. });
    let trigger_at = Instant::now() + shot.after;
    let (result, ended, triggered) = match shot.trigger {
        Trigger::Never => {
            // Half under a deadline far away (a server-side limit is set), half without.
            let scope = if shot.after.as_micros().is_multiple_of(2) {
                root.child()
            } else {
                root.with_timeout(LONG_DEADLINE)
            };
            let result = run::<B, E>(executor, &scope, sql, value).await;
            (Some(result), scope.is_done(), None)
        }
        Trigger::Cancel => {
            let scope = root.child();
            let mut statement = pin!(async {
                let result = run::<B, E>(executor, &scope, sql, value).await;
                (result, scope.is_done())
            });
            let ((result, ended), triggered) = tokio::select! {
                biased;
                done = &mut statement => (done, None),
                () = sleep_until(trigger_at) => {
                    let at = Instant::now();
                    scope.cancel(REASON);
                    (statement.await, Some(at))
                }
            };
            (Some(result), ended, triggered)
        }
        Trigger::Deadline => {
            let scope = root.with_deadline(trigger_at);
            let result = run::<B, E>(executor, &scope, sql, value).await;
            let ended = scope.is_done();
            (Some(result), ended, ended.then_some(trigger_at))
        }
        Trigger::Drop => {
            let scope = root.with_timeout(LONG_DEADLINE);
            match timeout_at(trigger_at, run::<B, E>(executor, &scope, sql, value)).await {
                Ok(result) => (Some(result), scope.is_done(), None),
                Err(_elapsed) => (None, false, Some(Instant::now())),
            }
        }
    };
    Fired {
        result,
        ended,
        triggered,
        returned: Instant::now(),
    }
}

/// Whether `cause` is what `trigger` ends a context with.
fn right_cause(trigger: Trigger, cause: &Cause) -> bool {
    match trigger {
        Trigger::Cancel => cause.reason() == Some(REASON),
        Trigger::Deadline => *cause == Cause::DeadlineExceeded,
        Trigger::Never | Trigger::Drop => false,
    }
}

/// Whether `error` is the server stopping a statement: a stop that reached a statement
/// whose caller never asked for one (theirs surface as [`Error::Canceled`]).
fn stray_stop(error: &Error) -> bool {
    error.as_database_error().is_some_and(|error| {
        matches!(
            error.kind(),
            DatabaseErrorKind::Interrupted | DatabaseErrorKind::StatementTimeout
        )
    })
}

/// Polls the server's view until no statement carrying `marker` runs, or until `within`
/// after `since`: how long after `since` it was gone, and how many still ran at the end.
///
/// The verdict comes from a read that answered: a read that failed (MariaDB's
/// PROCESSLIST can take over 5 s to answer while kills hold its sessions' locks) is tried
/// again, past `within` if need be, for up to [`UNREADABLE`] more; a statement never seen
/// again counts as running. (Counting an unread view as running made most of the "left
/// running" of a 100,000-statement MariaDB storm: the next read found them gone, some with
/// their stop confirmed.)
///
/// The polls back off as the wait grows (1 ms apart at first, then a twentieth of the time
/// waited, at most 50 ms), so a latency is measured to within 5 %: back-to-back reads of
/// MariaDB's PROCESSLIST from every worker for seconds, while kills wait on the same
/// sessions' locks, slowed the very stops they timed.
async fn gone<B: Backend>(
    stage: &Stage<B>,
    marker: &str,
    since: Instant,
    within: Duration,
) -> (Option<Duration>, i64) {
    loop {
        // What this read said; `None` if it failed.
        let running = match stage.try_running(marker).await {
            Ok(0) => return (Some(since.elapsed()), 0),
            Ok(count) => Some(count),
            Err(error) => {
                println!("{marker}: the server's view could not be read: {error}");
                None
            }
        };
        let waited = since.elapsed();
        match running {
            Some(count) if waited > within => return (None, count),
            None if waited > within + UNREADABLE => return (None, 1),
            _ => {}
        }
        sleep((waited / 20).clamp(Duration::from_millis(1), Duration::from_millis(50))).await;
    }
}

/// How long past its window [`gone`] keeps trying a view that does not answer.
const UNREADABLE: Duration = Duration::from_secs(30);

/// The counts of `counts` that are not 0.
fn nonzero<const N: usize>(counts: [(&'static str, u64); N]) -> Vec<(&'static str, u64)> {
    counts.into_iter().filter(|(_, count)| *count > 0).collect()
}

/// Adds a note to `notes` while it holds fewer than [`NOTES`].
fn keep_note(notes: &mut Vec<String>, note: impl FnOnce() -> String) {
    if notes.len() < NOTES {
        notes.push(note());
    }
}

/// How a storm is run.
#[derive(Clone, Debug)]
pub struct StormPlan {
    /// Workers sharing the stage's pool, each running its statements one after another.
    pub workers: usize,
    /// Statements in all.
    pub statements: usize,
    /// The latest a trigger fires after its statement is sent.
    pub latest_trigger: Duration,
    /// The seed of every random choice (the timing is the machine's).
    pub seed: u64,
}

/// What a storm counted. Every count named in [`StormReport::failures`] must be 0.
#[derive(Clone, Debug, Default)]
pub struct StormReport {
    /// Statements run.
    pub statements: u64,
    /// How they ended, by kind: `completed first`, `dropped`, `canceled, <outcome>`, ...
    pub outcomes: BTreeMap<String, u64>,
    /// Statements still in the server's view [`SETTLE`] after the cancel grace that
    /// followed their trigger, although their caller had been told the context ended (or
    /// had dropped the future).
    pub left_running: u64,
    /// Statements of the storm the server still ran at its end, after the cancel grace and
    /// [`SETTLE`].
    pub running_at_end: u64,
    /// Statements that came back interrupted although their context never ended.
    pub wrong_cancels: u64,
    /// Value statements that returned another statement's value.
    pub crosstalk: u64,
    /// Cancelled statements that reported another cause than their trigger's.
    pub wrong_causes: u64,
    /// Any other error, or a long statement that completed.
    pub unexpected: u64,
    /// From the trigger to the statement's absence from the server's view, for every
    /// statement sent and then stopped: the first poll of the view, which starts once the
    /// caller is back, that no longer shows it (so never less than the caller's wait).
    pub stop_latencies: Vec<Duration>,
    /// From the deadline to the caller having control back, for statements sent and then
    /// ended by their deadline.
    pub deadline_returns: Vec<Duration>,
    /// The first few failures, in words.
    pub notes: Vec<String>,
}

impl StormReport {
    fn count(&mut self, kind: impl Into<String>) {
        *self.outcomes.entry(kind.into()).or_default() += 1;
    }

    fn note(&mut self, note: impl FnOnce() -> String) {
        keep_note(&mut self.notes, note);
    }

    fn merge(&mut self, other: StormReport) {
        self.statements += other.statements;
        for (kind, count) in other.outcomes {
            *self.outcomes.entry(kind).or_default() += count;
        }
        self.left_running += other.left_running;
        self.running_at_end += other.running_at_end;
        self.wrong_cancels += other.wrong_cancels;
        self.crosstalk += other.crosstalk;
        self.wrong_causes += other.wrong_causes;
        self.unexpected += other.unexpected;
        self.stop_latencies.extend(other.stop_latencies);
        self.deadline_returns.extend(other.deadline_returns);
        let room = NOTES.saturating_sub(self.notes.len());
        self.notes.extend(other.notes.into_iter().take(room));
    }

    /// How many statements ended with `outcome` reported.
    pub fn reported(&self, outcome: StatementOutcome) -> u64 {
        self.outcomes
            .get(&format!("canceled, {outcome:?}"))
            .copied()
            .unwrap_or(0)
    }

    /// The counts that must be 0 and are not, by name.
    pub fn failures(&self) -> Vec<(&'static str, u64)> {
        nonzero([
            ("left running after the caller was told", self.left_running),
            ("running at the end", self.running_at_end),
            ("wrong-statement cancels", self.wrong_cancels),
            ("crosstalk", self.crosstalk),
            ("wrong causes", self.wrong_causes),
            ("unexpected results", self.unexpected),
        ])
    }

    /// Judges one statement's end, and says from when its stop is to be timed, if it is.
    fn judge(&mut self, shot: &Shot, fired: &Fired, marker: &str) -> Option<Instant> {
        self.statements += 1;
        let result = match &fired.result {
            None => {
                self.count("dropped");
                return fired.triggered;
            }
            Some(result) => result,
        };
        match result {
            Ok(got) => {
                self.count("completed first");
                match (shot.work, got) {
                    (Work::Value { n, .. }, Some(got)) if *got != n => {
                        self.crosstalk += 1;
                        self.note(|| format!("{marker}: `SELECT {n}` returned {got}"));
                    }
                    (Work::Value { .. }, Some(_)) => {}
                    _ => {
                        self.unexpected += 1;
                        self.note(|| format!("{marker}: {shot:?} completed"));
                    }
                }
                None
            }
            Err(Error::Canceled { cause, outcome }) => {
                self.count(format!("canceled, {outcome:?}"));
                if !fired.ended {
                    self.wrong_cancels += 1;
                    self.note(|| format!("{marker}: {shot:?} canceled by {cause}, context live"));
                }
                if !right_cause(shot.trigger, cause) {
                    self.wrong_causes += 1;
                    self.note(|| format!("{marker}: {shot:?} reported {cause}"));
                }
                if *outcome == StatementOutcome::NotSent {
                    return None;
                }
                if let (Trigger::Deadline, Some(deadline)) = (shot.trigger, fired.triggered) {
                    self.deadline_returns
                        .push(fired.returned.saturating_duration_since(deadline));
                }
                Some(fired.triggered.unwrap_or(fired.returned))
            }
            Err(error) => {
                if stray_stop(error) {
                    self.count("interrupted by a stray stop");
                    self.wrong_cancels += 1;
                } else {
                    self.count("other error");
                    self.unexpected += 1;
                }
                self.note(|| format!("{marker}: {shot:?} failed: {error}"));
                Some(fired.returned)
            }
        }
    }
}

/// Runs a storm on `stage`'s pool (as large as `plan.workers`, normally) and counts what
/// happened. Every statement carries a marker beginning with one prefix of the storm's, so
/// the final check is one look at the server's view.
pub async fn storm<B: Backend>(stage: &Arc<Stage<B>>, plan: &StormPlan) -> StormReport {
    let prefix = unique("storm");
    let mut random = Random::new(plan.seed);
    let per_worker = plan.statements.div_ceil(plan.workers.max(1));
    let workers: Vec<_> = (0..plan.workers)
        .map(|worker| {
            let stage = Arc::clone(stage);
            let mut random = random.fork();
            let prefix = prefix.clone();
            let count = per_worker.min(plan.statements.saturating_sub(worker * per_worker));
            let latest = plan.latest_trigger;
            tokio::spawn(async move {
                let mut report = StormReport::default();
                let shared_marker = format!("{prefix}-w{worker}-");
                for statement in 0..count {
                    let shot = Shot::draw(&mut random, latest);
                    let own_marker = format!("{prefix}-s{worker}.{statement}-");
                    let sql = shot.sql::<B>(&own_marker, &shared_marker);
                    let fired = fire::<B, _>(&stage.pool, &stage.root, &shot, sql).await;
                    let marker = shot.marker(&own_marker, &shared_marker);
                    let Some(since) = report.judge(&shot, &fired, marker) else {
                        continue;
                    };
                    match gone(&stage, marker, since, cancel_grace() + SETTLE).await {
                        (Some(after), _) => report.stop_latencies.push(after),
                        (None, running) => {
                            report.left_running += 1;
                            let seen = stage.describe(marker).await;
                            stage.sweep(marker).await;
                            report.note(|| {
                                format!(
                                    "{marker}: {shot:?} still ran ({running} seen: {seen}) \
                                     after the grace; the caller got {:?}",
                                    fired.result
                                )
                            });
                        }
                    }
                }
                (report, Instant::now())
            })
        })
        .collect();
    let mut report = StormReport::default();
    let mut last = Instant::now();
    for worker in workers {
        let (worker, finished) = worker.await.expect("a storm worker panicked");
        report.merge(worker);
        last = last.max(finished);
    }
    // Whatever the outcome, no stop goes on past the cancel grace: nothing may run then.
    sleep_until(last + cancel_grace()).await;
    let everything = format!("{prefix}-");
    let (_, running) = gone(stage, &everything, Instant::now(), SETTLE).await;
    report.running_at_end = u64::try_from(running).unwrap_or(0);
    stage.sweep(&everything).await;
    report
}

/// Statements cancelled at once in a herd.
pub const HERD: usize = 8;

/// What herds of simultaneous cancels counted. Every count named in
/// [`HerdReport::failures`] must be 0.
#[derive(Clone, Debug, Default)]
pub struct HerdReport {
    /// Rounds run.
    pub rounds: u64,
    /// Statements run, [`HERD`] a round.
    pub statements: u64,
    /// How they ended, by outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Statements still in the server's view [`SETTLE`] after the cancel grace that
    /// followed their cancel: stops lost.
    pub lost: u64,
    /// Statements that reported anything but a cancel, by the herd's scope, of a statement
    /// that was sent.
    pub wrong_outcomes: u64,
    /// Rounds whose statements the server never showed all running at once (the cancel
    /// went out anyway).
    pub never_all_running: u64,
    /// From the cancel to the last of a round's statements gone from the server's view,
    /// polled once every caller of the round is back.
    pub all_gone: Vec<Duration>,
    /// The first few failures, in words.
    pub notes: Vec<String>,
}

impl HerdReport {
    /// The counts that must be 0 and are not, by name.
    pub fn failures(&self) -> Vec<(&'static str, u64)> {
        nonzero([
            ("lost stops", self.lost),
            ("wrong outcomes", self.wrong_outcomes),
            ("rounds never all running", self.never_all_running),
        ])
    }
}

/// Runs `rounds` herds on `stage`'s pool (at least [`HERD`] connections): [`HERD`]
/// statements, CPU-bound in even rounds and sleeping in odd ones, all cancelled through one
/// scope once the server runs all of them.
pub async fn herds<B: Backend>(stage: &Stage<B>, rounds: usize) -> HerdReport {
    let prefix = unique("herd");
    let mut report = HerdReport::default();
    for round in 0..rounds {
        let round_marker = format!("{prefix}-r{round}-");
        let scope = stage.root.child();
        let statements: Vec<_> = (0..HERD)
            .map(|k| {
                let marker = format!("{round_marker}k{k}-");
                let sql = if round % 2 == 0 {
                    B::busy(&marker)
                } else {
                    B::sleep(10, &marker)
                };
                let (pool, ctx) = (stage.pool.clone(), scope.ctx().clone());
                tokio::spawn(async move { pool.execute(&ctx, sql).await })
            })
            .collect();
        let all_running = async {
            // A view that cannot be read is read again.
            while !matches!(
                stage.try_running(&round_marker).await,
                Ok(running) if running >= HERD as i64
            ) {
                sleep(Duration::from_millis(1)).await;
            }
        };
        let give_up = Instant::now() + Duration::from_secs(10);
        if timeout_at(give_up, all_running).await.is_err() {
            report.never_all_running += 1;
        }
        let cancelled = Instant::now();
        scope.cancel(REASON);
        for statement in statements {
            let result = statement.await.expect("a herd statement panicked");
            match result {
                Err(Error::Canceled { cause, outcome })
                    if cause.reason() == Some(REASON) && outcome != StatementOutcome::NotSent =>
                {
                    *report.outcomes.entry(format!("{outcome:?}")).or_default() += 1;
                }
                other => {
                    report.wrong_outcomes += 1;
                    keep_note(&mut report.notes, || format!("{round_marker}: {other:?}"));
                }
            }
        }
        let (all_gone, running) =
            gone(stage, &round_marker, cancelled, cancel_grace() + SETTLE).await;
        report.rounds += 1;
        report.statements += HERD as u64;
        report.lost += u64::try_from(running).unwrap_or(0);
        report.all_gone.extend(all_gone);
        stage.sweep(&round_marker).await;
    }
    report
}

/// One case of [`slow_network`].
#[derive(Clone, Debug)]
pub struct SlowCase {
    /// Which case: the statement's history on the connection and the trigger.
    pub name: String,
    /// What the caller was told.
    pub result: String,
    /// Whether that was a cancel with the trigger's cause, of a statement that was sent.
    pub right: bool,
    /// From the trigger to the caller having control back.
    pub returned_after: Duration,
    /// From the trigger to the statement's absence from the server's view, polled once the
    /// caller is back (`None`: still there after the cancel grace and [`SETTLE`]).
    pub gone_after: Option<Duration>,
    /// How many times the statement ran on the server once its stop had settled (the cancel
    /// grace had passed and every byte the proxy held had been delivered): must be 0.
    pub left_running: i64,
}

impl SlowCase {
    /// The case `name`, ended by `trigger` as `fired` says; `seen` is what the server's view
    /// showed: how long after the trigger the statement was gone, and how many times it
    /// ran once its stop had settled.
    fn new(
        name: String,
        trigger: Trigger,
        fired: &Fired,
        seen: (Option<Duration>, i64),
    ) -> SlowCase {
        let (gone_after, left_running) = seen;
        let triggered = fired.triggered.unwrap_or(fired.returned);
        let right = matches!(
            &fired.result,
            Some(Err(Error::Canceled { cause, outcome }))
                if *outcome != StatementOutcome::NotSent && right_cause(trigger, cause)
        );
        SlowCase {
            name,
            result: format!("{:?}", fired.result),
            right,
            returned_after: fired.returned.saturating_duration_since(triggered),
            gone_after,
            left_running,
        }
    }

    /// Whether all went as promised: a cancel of a sent statement with the trigger's cause
    /// reported, and the statement gone from the server's view, for good.
    pub fn stopped(&self) -> bool {
        self.right && self.gone_after.is_some() && self.left_running == 0
    }
}

/// A sleep of 10 s with a bound duration, new to the connection or prepared on it first,
/// sent through a proxy that delays every byte `delay` each way and ended `after` it was
/// sent by a cancel and by a deadline; the server's view is read directly, not through the
/// proxy.
pub async fn slow_network<B: Backend>(delay: Duration, after: Duration) -> Vec<SlowCase> {
    let url = B::url();
    let server = server_address(&url).unwrap_or_else(|| panic!("{url} names no server"));
    let proxy = Proxy::start(server, delay).await.expect("a proxy");
    let stage = Stage::<B>::through(&proxy.url(&B::over_tcp(&url)), 1).await;
    let root = &stage.root;
    let mut cases = Vec::new();
    for prepared in [false, true] {
        for trigger in [Trigger::Cancel, Trigger::Deadline] {
            let marker = unique("slow");
            let text = format!("SELECT {}({}) /* {marker} */", B::SLEEP, B::placeholder(1));
            let mut connection = stage.pool.acquire(root).await.expect("acquire");
            if prepared {
                connection
                    .execute(root, Sql::new(text.clone()).bind(0.0))
                    .await
                    .expect("preparing the statement");
            }
            let shot = Shot {
                work: Work::Sleep { bound: true },
                trigger,
                after,
            };
            let sql = Sql::new(text).bind(10.0);
            let fired = fire::<B, _>(&mut connection, root, &shot, sql).await;
            let triggered = fired.triggered.unwrap_or(fired.returned);
            let (gone_after, _) = gone(&stage, &marker, triggered, cancel_grace() + SETTLE).await;
            // Nothing of the stop goes on past the grace; then the statement must not run,
            // whatever the proxy was still holding.
            sleep_until(triggered + cancel_grace()).await;
            proxy.drained().await;
            let (_, left_running) = gone(&stage, &marker, Instant::now(), SETTLE).await;
            stage.sweep(&marker).await;
            let history = if prepared { "prepared" } else { "new" };
            let name = format!("{history} statement, {trigger:?}");
            let seen = (gone_after, left_running);
            cases.push(SlowCase::new(name, trigger, &fired, seen));
        }
    }
    assert!(
        proxy.accepted() > 0,
        "the pool never went through the proxy"
    );
    stage.finish().await;
    cases
}

/// A 10 s sleep through a proxy whose every open link (the statement's connection, and any
/// connection the driver holds open for its stops) freezes while the sleep runs, as on a
/// network that drops a path; ended by a cancel and by a deadline. Only what the driver
/// opens afresh can reach the server. The pool has its default `stop_wait`, so the caller
/// is back (with [`StatementOutcome::Stopping`]) long before the stop has settled.
pub async fn stalled_network<B: Backend>() -> Vec<SlowCase> {
    let url = B::url();
    let server = server_address(&url).unwrap_or_else(|| panic!("{url} names no server"));
    let mut cases = Vec::new();
    for trigger in [Trigger::Cancel, Trigger::Deadline] {
        // A proxy per case: a stall is for good.
        let proxy = Proxy::start(server, Duration::ZERO).await.expect("a proxy");
        // The pool's default wait for the stop: the caller is answered then, whatever the
        // frozen link holds up, while the stop goes on in the background.
        let options = PoolOptions {
            max_connections: 1,
            ..PoolOptions::default()
        };
        let stage = Stage::<B>::through_with(&proxy.url(&B::over_tcp(&url)), options).await;
        let root = &stage.root;
        let marker = unique("stalled");
        let mut connection = stage.pool.acquire(root).await.expect("acquire");
        let stall = async {
            stage.wait_running(&marker, Duration::from_secs(5)).await;
            proxy.stall();
        };
        let shot = Shot {
            work: Work::Sleep { bound: false },
            trigger,
            after: Duration::from_millis(300),
        };
        let sql = Sql::new(B::sleep(10, &marker));
        let (fired, ()) = tokio::join!(fire::<B, _>(&mut connection, root, &shot, sql), stall);
        let triggered = fired.triggered.unwrap_or(fired.returned);
        let seen = gone(&stage, &marker, triggered, cancel_grace() + SETTLE).await;
        stage.sweep(&marker).await;
        let name = format!("stalled link, {trigger:?}");
        cases.push(SlowCase::new(name, trigger, &fired, seen));
        drop(connection);
        stage.finish().await;
    }
    cases
}

pub async fn a_storm_of_random_stops_loses_none_and_hits_no_wrong_statement<B: Backend>() {
    let stage = Arc::new(Stage::<B>::alone(8).await);
    let plan = StormPlan {
        workers: 8,
        statements: 240,
        latest_trigger: Duration::from_millis(50),
        seed: seed(),
    };
    let report = storm(&stage, &plan).await;
    println!(
        "{} storm, seed {}: {} statements, {:?}, {} stops timed",
        B::NAME,
        plan.seed,
        report.statements,
        report.outcomes,
        report.stop_latencies.len()
    );
    assert!(
        report.failures().is_empty(),
        "{} storm, seed {}: {:?}\n{:#?}",
        B::NAME,
        plan.seed,
        report.failures(),
        report.notes
    );
    assert_eq!(report.statements, plan.statements as u64);
    // The storm did what it is for: statements completed, and others were stopped.
    assert!(
        report.outcomes.get("completed first") > Some(&0),
        "{report:?}"
    );
    assert!(report.reported(StatementOutcome::Stopped) > 0, "{report:?}");
    Arc::into_inner(stage)
        .expect("the workers are done")
        .finish()
        .await;
}

pub async fn herds_of_simultaneous_cancels_lose_no_stop<B: Backend>() {
    let stage = Stage::<B>::alone(HERD).await;
    let report = herds(&stage, 6).await;
    println!(
        "{} herds: {} rounds, {:?}",
        B::NAME,
        report.rounds,
        report.outcomes
    );
    assert!(
        report.failures().is_empty(),
        "{} herds: {:?}\n{:#?}",
        B::NAME,
        report.failures(),
        report.notes
    );
    assert_eq!(report.statements, 6 * HERD as u64);
    stage.finish().await;
}

pub async fn stops_reach_the_server_over_a_slow_network<B: Backend>() {
    let cases = slow_network::<B>(Duration::from_millis(100), Duration::from_millis(50)).await;
    assert_all_stopped::<B>(&cases);
}

pub async fn stops_reach_the_server_when_the_statements_link_freezes<B: Backend>() {
    assert_all_stopped::<B>(&stalled_network::<B>().await);
}

/// Every case reported a cancel of a sent statement with its trigger's cause, and its
/// statement was gone from the server's view, for good.
fn assert_all_stopped<B: Backend>(cases: &[SlowCase]) {
    for case in cases {
        println!("{}: {case:?}", B::NAME);
    }
    let wrong: Vec<_> = cases.iter().filter(|case| !case.stopped()).collect();
    assert!(wrong.is_empty(), "{}: {wrong:#?}", B::NAME);
}
