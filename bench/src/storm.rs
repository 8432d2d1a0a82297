//! `--storm`: the promise under contention (issue 19), at scale. The suite's own workloads
//! (`tethered_tests::storm`), run with the sizes of the command line: a storm of random
//! stops on 8 workers over 8 connections, herds of 8 simultaneous cancels, and statements
//! stopped while still on their way through a slow network. Everything is counted on the
//! server's own view; the run fails if any count that must be 0 is not.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tethered_tests::storm::{self, HERD, HerdReport, SlowCase, StormPlan, StormReport};
use tethered_tests::{Backend, MySql, Postgres, Stage};

use crate::contestant::Result;
use crate::measure::{millis, quantile};
use crate::settings::Settings;

/// Workers in a storm, and connections in its pool.
const WORKERS: usize = 8;
/// The latest a storm's trigger fires after its statement is sent.
const LATEST_TRIGGER: Duration = Duration::from_millis(50);
/// The slow network's delay, each way.
const DELAY: Duration = Duration::from_millis(100);
/// When a statement on the slow network is stopped, after it was sent.
const STOP_AFTER: Duration = Duration::from_millis(50);

/// Runs the storm, the herds and the slow network on every selected backend, prints what
/// they counted, and fails if a count that must be 0 is not.
pub async fn run(settings: &Settings) -> Result<()> {
    if settings.backend.as_deref() == Some("sqlite") {
        // Its stops under contention are the suite's race test (tests/src/race.rs).
        return Err("the storm runs on the servers only: postgres or mysql".into());
    }
    let seed = tethered_tests::random::seed();
    let mut failures = Vec::new();
    if settings.runs("postgres") {
        failures.extend(on::<Postgres>("postgres", settings, seed).await);
    }
    if settings.runs("mysql") {
        failures.extend(on::<MySql>("mysql", settings, seed).await);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("counts that must be 0: {}", failures.join("; ")).into())
    }
}

/// One backend's run: prints its figures, returns its failures.
async fn on<B: Backend>(name: &str, settings: &Settings, seed: u64) -> Vec<String> {
    let plan = StormPlan {
        workers: WORKERS,
        statements: settings.storm.statements,
        latest_trigger: LATEST_TRIGGER,
        seed,
    };
    eprintln!("{name}: a storm of {} statements", plan.statements);
    let stage = Arc::new(Stage::<B>::alone(WORKERS).await);
    let stormed = storm::storm(&stage, &plan).await;
    let stage = Arc::into_inner(stage).expect("the storm's workers are done");
    eprintln!("{name}: {} herds", settings.storm.herd_rounds);
    let herded = storm::herds(&stage, settings.storm.herd_rounds).await;
    stage.finish().await;
    eprintln!("{name}: a slow network");
    let slow = storm::slow_network::<B>(DELAY, STOP_AFTER).await;
    eprintln!("{name}: a frozen link");
    let stalled = storm::stalled_network::<B>().await;

    print!("{}", storm_text(name, &plan, &stormed));
    print!("{}", herds_text(&herded));
    print!("{}", slow_text(&slow));
    print!(
        "{}",
        cases_text(
            "frozen link: every open link stalls once the sleep runs",
            &stalled
        )
    );
    let mut failures: Vec<String> = stormed
        .failures()
        .into_iter()
        .chain(herded.failures())
        .map(|(what, count)| format!("{name} {what}: {count}"))
        .collect();
    failures.extend(
        slow.iter()
            .chain(&stalled)
            .filter(|case| !case.stopped())
            .map(|case| format!("{name} {}: {}", case.name, case.result)),
    );
    for note in stormed.notes.iter().chain(&herded.notes) {
        println!("  ! {note}");
    }
    failures
}

/// p50 / p99 of `values` in milliseconds, and how many there are.
fn percentiles(values: &[Duration]) -> String {
    let millis: Vec<f64> = values.iter().copied().map(millis).collect();
    format!(
        "p50 {:.1} / p99 {:.1} ms (n = {})",
        quantile(&millis, 0.5),
        quantile(&millis, 0.99),
        millis.len()
    )
}

fn storm_text(name: &str, plan: &StormPlan, report: &StormReport) -> String {
    let mut text = format!(
        "\n== {name} storm: {} statements, {} workers over {} connections, triggers 0-{} ms \
         after sending, seed {}\n",
        report.statements,
        plan.workers,
        WORKERS,
        plan.latest_trigger.as_millis(),
        plan.seed
    );
    let outcomes: Vec<String> = report
        .outcomes
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    let _ = writeln!(text, "outcomes: {}", outcomes.join(", "));
    let _ = writeln!(
        text,
        "left running after the caller was told the context ended: {}; running at the end: {}",
        report.left_running, report.running_at_end
    );
    let _ = writeln!(
        text,
        "wrong-statement cancels: {}; crosstalk: {}; wrong causes: {}; unexpected results: {}",
        report.wrong_cancels, report.crosstalk, report.wrong_causes, report.unexpected
    );
    let _ = writeln!(
        text,
        "stop latency, trigger to gone from the server's view: {}",
        percentiles(&report.stop_latencies)
    );
    let _ = writeln!(
        text,
        "caller back after a deadline: {}",
        percentiles(&report.deadline_returns)
    );
    text
}

fn herds_text(report: &HerdReport) -> String {
    let outcomes: Vec<String> = report
        .outcomes
        .iter()
        .map(|(kind, count)| format!("{kind} {count}"))
        .collect();
    format!(
        "herds: {} rounds of {HERD} simultaneous cancels (CPU-bound and sleeping in turn), {} \
         statements: {}\nlost stops: {}; wrong outcomes: {}; rounds never all running: {}\n\
         cancel to the last of a herd gone from the server's view: {}\n",
        report.rounds,
        report.statements,
        outcomes.join(", "),
        report.lost,
        report.wrong_outcomes,
        report.never_all_running,
        percentiles(&report.all_gone)
    )
}

fn slow_text(cases: &[SlowCase]) -> String {
    let title = format!(
        "slow network: {} ms each way, stopped {} ms after sending (a 10 s sleep)",
        DELAY.as_millis(),
        STOP_AFTER.as_millis()
    );
    cases_text(&title, cases)
}

fn cases_text(title: &str, cases: &[SlowCase]) -> String {
    let mut text = format!("{title}\n");
    for case in cases {
        let gone = case
            .gone_after
            .map_or("never".to_owned(), |gone| format!("{:.1} ms", millis(gone)));
        let _ = writeln!(
            text,
            "  {:<32} caller back {:>8.1} ms, gone from the server {gone:>9}, left running {}, \
             {}",
            case.name,
            millis(case.returned_after),
            case.left_running,
            case.result
        );
    }
    text
}
