//! What a run found: the table, the JSON rows, and the goals tethered holds itself to.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cancellation::{ORPHAN_AFTER, Series, Stop, Trial};
use crate::flood::{FLOOD_FOR, FloodSeries};
use crate::lineup::Who;
use crate::measure::{median, quantile, spread};
use crate::round_trips::{self, RoundTrips};
use crate::workload::{Sample, Workload};

/// Everything measured on one backend.
pub struct BackendReport {
    /// `postgres`, `mysql` or `sqlite`.
    pub backend: &'static str,
    /// The server's version.
    pub server: String,
    /// What the cancellation workload runs ([`crate::backend::Backend::LONG_STATEMENT`]).
    pub long_statement: &'static str,
    /// `/proc/loadavg` before and after: how busy the machine was besides.
    pub load: (String, String),
    /// Workloads 1–4 and 6.
    pub workloads: Vec<WorkloadResult>,
    /// Round trips per point select, through a delaying proxy (`None`: embedded, no
    /// network).
    pub round_trips: Option<RoundTrips>,
    /// Workload 5, one series per contestant and way of stopping it.
    pub cancellation: Vec<Series>,
    /// Workload 7, one series per way of giving the flood up (tethered only).
    pub flood: Vec<FloodSeries>,
    /// Statements of this run still in the activity view after the cancellation workloads.
    pub leftover: u64,
}

/// One throughput workload's samples.
pub struct WorkloadResult {
    /// The workload.
    pub workload: Workload,
    /// Its title, with its sizes.
    pub title: String,
    /// Each contestant's rounds, in [`Who::ALL`] order.
    pub samples: [Vec<Sample>; 3],
}

/// One contestant's figures on one workload: medians over the rounds.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    /// Operations per second.
    pub throughput: f64,
    /// Client CPU (process user + system) per operation, in microseconds.
    pub cpu_us: f64,
    /// Interquartile range over median, of the throughput.
    pub throughput_spread: f64,
    /// Interquartile range over median, of the CPU.
    pub cpu_spread: f64,
}

impl WorkloadResult {
    fn samples(&self, who: Who) -> &[Sample] {
        &self.samples[Who::ALL
            .iter()
            .position(|w| *w == who)
            .expect("a contestant")]
    }

    /// Whether `who` ran (sqlx is missing where it cannot be built).
    pub fn ran(&self, who: Who) -> bool {
        !self.samples(who).is_empty()
    }

    /// The contestants that ran, in [`Who::ALL`] order.
    pub fn contestants(&self) -> impl Iterator<Item = Who> + '_ {
        Who::ALL.into_iter().filter(|who| self.ran(*who))
    }

    /// The figures of `who`.
    pub fn figures(&self, who: Who) -> Figures {
        let samples = self.samples(who);
        let throughput: Vec<f64> = samples.iter().map(|s| s.throughput).collect();
        let cpu: Vec<f64> = samples
            .iter()
            .map(|s| s.cpu_per_op.as_secs_f64() * 1e6)
            .collect();
        Figures {
            throughput: median(&throughput),
            cpu_us: median(&cpu),
            throughput_spread: spread(&throughput),
            cpu_spread: spread(&cpu),
        }
    }

    /// tethered's throughput and CPU per operation over `other`'s.
    pub fn ratios(&self, other: Who) -> (f64, f64) {
        let (tethered, other) = (self.figures(Who::Tethered), self.figures(other));
        (
            tethered.throughput / other.throughput,
            tethered.cpu_us / other.cpu_us,
        )
    }
}

/// A cancellation series' figures, in milliseconds.
struct CancelFigures {
    returned: (f64, f64),
    timer_late: Option<(f64, f64)>,
    gone: (f64, f64),
    next: (f64, f64),
    seen: usize,
    orphaned: usize,
    next_failed: usize,
    next_error: Option<String>,
    confirmed: Option<usize>,
}

impl CancelFigures {
    fn of(series: &Series) -> CancelFigures {
        let p50_p99 = |values: Vec<f64>| (quantile(&values, 0.5), quantile(&values, 0.99));
        let count = |what: fn(&Trial) -> bool| series.trials.iter().filter(|t| what(t)).count();
        CancelFigures {
            returned: p50_p99(series.millis(|t| Some(t.returned_after))),
            timer_late: series
                .trials
                .iter()
                .all(|t| t.timer_late.is_some())
                .then(|| p50_p99(series.millis(|t| t.timer_late))),
            gone: p50_p99(series.millis(|t| t.gone_after)),
            next: p50_p99(series.millis(|t| Some(t.next_statement))),
            seen: count(|t| t.seen_running),
            orphaned: count(Trial::orphaned),
            next_failed: count(|t| t.next_error.is_some()),
            next_error: series.trials.iter().find_map(|t| t.next_error.clone()),
            confirmed: series
                .trials
                .iter()
                .map(|t| t.confirmed.map(usize::from))
                .sum(),
        }
    }
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn contestant_label(series: &Series) -> String {
    match series.stop {
        Stop::FutureDropped if series.who != Who::Tethered => {
            format!("{}, timeout (future dropped)", series.who)
        }
        stop => format!("{}, {}", series.who, stop.name()),
    }
}

/// The table, as text.
pub fn table(header: &str, reports: &[BackendReport], cancel_after: Duration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}");
    for report in reports {
        let _ = writeln!(
            out,
            "\n== {} ({}); load average before: {}; after: {}",
            report.backend, report.server, report.load.0, report.load.1
        );
        throughput_table(&mut out, report);
        round_trips_table(&mut out, report.round_trips.as_ref());
        cancellation_table(&mut out, report, cancel_after);
        flood_table(&mut out, &report.flood);
    }
    out
}

/// A flood series' figures, in milliseconds: p50 and p99 of the caller's return and of the
/// statement's disappearance, and how many trials left it running.
struct FloodFigures {
    returned: (f64, f64),
    gone: (f64, f64),
    left_running: usize,
    rows: f64,
}

impl FloodFigures {
    fn of(series: &FloodSeries) -> FloodFigures {
        let p50_p99 = |values: Vec<f64>| (quantile(&values, 0.5), quantile(&values, 0.99));
        let rows: Vec<f64> = series.trials.iter().map(|t| t.rows as f64).collect();
        FloodFigures {
            returned: p50_p99(series.millis(|t| Some(t.returned_after))),
            gone: p50_p99(series.millis(|t| t.gone_after)),
            left_running: series
                .trials
                .iter()
                .filter(|t| t.gone_after.is_none())
                .count(),
            rows: median(&rows),
        }
    }
}

/// Workload 7 of one backend.
fn flood_table(out: &mut String, flood: &[FloodSeries]) {
    let _ = writeln!(
        out,
        "\n7 flood given up {} ms in, tethered (ms from the cancel or deadline; p50 / p99)",
        FLOOD_FOR.as_millis()
    );
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>15} {:>17} {:>12} {:>14}",
        "given up by", "trials", "caller back", "gone from server", "left running", "rows handed"
    );
    for series in flood {
        let figures = FloodFigures::of(series);
        let _ = writeln!(
            out,
            "{:<28} {:>6} {:>15} {:>17} {:>12} {:>14}",
            series.stop.name(),
            series.trials.len(),
            format!("{:.2} / {:.2}", figures.returned.0, figures.returned.1),
            format!("{:.2} / {:.2}", figures.gone.0, figures.gone.1),
            figures.left_running,
            thousands(figures.rows),
        );
    }
}

/// Round trips per point select, raw beside tethered.
fn round_trips_table(out: &mut String, trips: Option<&RoundTrips>) {
    let Some(trips) = trips else {
        let _ = writeln!(
            out,
            "round trips per point select: none to count (embedded, no network)"
        );
        return;
    };
    let _ = writeln!(
        out,
        "round trips per point select, 1 connection through a proxy adding {} ms each way: \
         busy ({} selects) raw {:.2}, tethered {:.2}; after {:.1} s idle raw {:.2}, tethered \
         {:.2} (its health check after `ping_after_idle`)",
        round_trips::DELAY.as_millis(),
        round_trips::SELECTS,
        trips.raw,
        trips.tethered,
        trips.idle.as_secs_f64(),
        trips.raw_after_idle,
        trips.tethered_after_idle,
    );
}

/// Workloads 1–4 and 6 of one backend.
fn throughput_table(out: &mut String, report: &BackendReport) {
    let _ = writeln!(
        out,
        "{:<46} {:<9} {:>22} {:>13} {:>11} {:>15} {:>15}",
        "workload", "who", "throughput", "CPU µs/op", "spread", "tethered/raw", "tethered/sqlx"
    );
    let _ = writeln!(
        out,
        "{:<46} {:<9} {:>22} {:>13} {:>11} {:>15} {:>15}",
        "", "", "(median)", "(median)", "thr / CPU", "thr / CPU", "thr / CPU"
    );
    for result in &report.workloads {
        for who in result.contestants() {
            let figures = result.figures(who);
            let title = if who == Who::Raw {
                format!("{} {}", result.workload.number(), result.title)
            } else {
                String::new()
            };
            let ratios = |other: Who| {
                if !result.ran(other) {
                    return "n/a".to_owned();
                }
                let (throughput, cpu) = result.ratios(other);
                format!("{throughput:.2}x / {cpu:.2}x")
            };
            let (vs_raw, vs_sqlx) = if who == Who::Tethered {
                (ratios(Who::Raw), ratios(Who::Sqlx))
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(
                out,
                "{title:<46} {who:<9} {:>22} {:>13.1} {:>11} {vs_raw:>15} {vs_sqlx:>15}",
                format!(
                    "{} {}/s",
                    thousands(figures.throughput),
                    result.workload.unit().split(' ').next().unwrap_or("op")
                ),
                figures.cpu_us,
                format!(
                    "{:.0}% / {:.0}%",
                    figures.throughput_spread * 100.0,
                    figures.cpu_spread * 100.0
                ),
            );
        }
    }
}

/// Workload 5 of one backend.
fn cancellation_table(out: &mut String, report: &BackendReport, cancel_after: Duration) {
    let _ = writeln!(
        out,
        "\n5 cancellation: {} abandoned {} ms in (ms from the cancel; p50 / p99)",
        report.long_statement,
        cancel_after.as_millis()
    );
    let _ = writeln!(
        out,
        "{:<38} {:>5} {:>6} {:>7} {:>11} {:>15} {:>17} {:>11} {:>17} {:>9}",
        "who, stopped by",
        "sleep",
        "trials",
        "seen",
        "timer late",
        "caller back",
        "gone from server",
        "running at",
        "next stmt takes",
        "server"
    );
    let _ = writeln!(
        out,
        "{:<38} {:>5} {:>6} {:>7} {:>11} {:>15} {:>17} {:>11} {:>17} {:>9}",
        "",
        "",
        "",
        "",
        "",
        "",
        "(activity view)",
        format!("+{} ms", ORPHAN_AFTER.as_millis()),
        "",
        "confirmed"
    );
    for series in &report.cancellation {
        let figures = CancelFigures::of(series);
        let trials = series.trials.len();
        let pair = |(p50, p99): (f64, f64)| {
            if p50 >= 100.0 {
                format!("{p50:.0} / {p99:.0}")
            } else {
                format!("{p50:.1} / {p99:.1}")
            }
        };
        let failed = if figures.next_failed > 0 {
            format!(" ({} failed)", figures.next_failed)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{:<38} {:>4}s {trials:>6} {:>7} {:>11} {:>15} {:>17} {:>11} {:>17} {:>9}",
            contestant_label(series),
            series.sleep.as_secs(),
            format!("{}/{trials}", figures.seen),
            figures.timer_late.map_or("-".to_owned(), pair),
            pair(figures.returned),
            pair(figures.gone),
            format!("{}/{trials}", figures.orphaned),
            format!("{}{failed}", pair(figures.next)),
            figures
                .confirmed
                .map_or("n/a".to_owned(), |confirmed| format!(
                    "{confirmed}/{trials}"
                )),
        );
    }
    for series in &report.cancellation {
        if let Some(error) = CancelFigures::of(series).next_error {
            let _ = writeln!(
                out,
                "{}: the next statement failed: {error}",
                contestant_label(series)
            );
        }
    }
    let _ = writeln!(
        out,
        "statements of this run still on the server after the cancellation workload: {}",
        report.leftover
    );
}

/// One JSON object per row of the table, per cancellation series, and per goal.
pub fn json_rows(reports: &[BackendReport], goals: &[Goal]) -> Vec<Value> {
    let mut rows = Vec::new();
    for report in reports {
        for result in &report.workloads {
            for who in result.contestants() {
                let figures = result.figures(who);
                let mut row = json!({
                    "kind": "throughput",
                    "backend": report.backend,
                    "server": report.server,
                    "workload": result.workload.number(),
                    "workload_key": result.workload.key(),
                    "title": result.title,
                    "contestant": who.name(),
                    "unit": result.workload.unit(),
                    "throughput_per_s": figures.throughput,
                    "client_cpu_us_per_op": figures.cpu_us,
                    "throughput_spread": figures.throughput_spread,
                    "cpu_spread": figures.cpu_spread,
                    "rounds": result.samples[0].len(),
                });
                if who == Who::Tethered {
                    for (key, other) in [
                        ("tethered_vs_raw", Who::Raw),
                        ("tethered_vs_sqlx", Who::Sqlx),
                    ] {
                        if !result.ran(other) {
                            continue;
                        }
                        let (throughput, cpu) = result.ratios(other);
                        row[key] = json!({ "throughput": throughput, "cpu": cpu });
                    }
                }
                rows.push(row);
            }
        }
        for series in &report.cancellation {
            let figures = CancelFigures::of(series);
            rows.push(json!({
                "kind": "cancellation",
                "backend": report.backend,
                "server": report.server,
                "workload": 5,
                "contestant": series.who.name(),
                "stopped_by": series.stop.name(),
                "sleep_s": series.sleep.as_secs(),
                "trials": series.trials.len(),
                "seen_running": figures.seen,
                "timer_late_p50_ms": figures.timer_late.map(|late| late.0),
                "timer_late_p99_ms": figures.timer_late.map(|late| late.1),
                "returned_p50_ms": figures.returned.0,
                "returned_p99_ms": figures.returned.1,
                "gone_p50_ms": figures.gone.0,
                "gone_p99_ms": figures.gone.1,
                "still_running_after_400ms": figures.orphaned,
                "next_statement_p50_ms": figures.next.0,
                "next_statement_p99_ms": figures.next.1,
                "next_statement_failed": figures.next_failed,
                "next_statement_error": figures.next_error,
                "server_confirmed_stop": figures.confirmed,
            }));
        }
        for series in &report.flood {
            let figures = FloodFigures::of(series);
            rows.push(json!({
                "kind": "flood",
                "backend": report.backend,
                "workload": 7,
                "contestant": Who::Tethered.name(),
                "given_up_by": series.stop.name(),
                "after_ms": FLOOD_FOR.as_millis(),
                "trials": series.trials.len(),
                "returned_p50_ms": figures.returned.0,
                "returned_p99_ms": figures.returned.1,
                "gone_p50_ms": figures.gone.0,
                "gone_p99_ms": figures.gone.1,
                "left_running": figures.left_running,
                "rows_handed_median": figures.rows,
            }));
        }
        if let Some(trips) = &report.round_trips {
            rows.push(json!({
            "kind": "round_trips",
            "backend": report.backend,
            "delay_each_way_ms": round_trips::DELAY.as_millis(),
            "raw": trips.raw,
            "tethered": trips.tethered,
            "idle_s": trips.idle.as_secs_f64(),
            "raw_after_idle": trips.raw_after_idle,
            "tethered_after_idle": trips.tethered_after_idle,
            }));
        }
        rows.push(json!({
            "kind": "leftover",
            "backend": report.backend,
            "statements_still_running": report.leftover,
        }));
    }
    for goal in goals {
        rows.push(json!({ "kind": "goal", "goal": goal.text, "met": goal.met }));
    }
    rows
}

/// A goal tethered holds itself to, and whether this run met it.
pub struct Goal {
    /// The goal and the figure it was judged on.
    pub text: String,
    /// Whether it was met.
    pub met: bool,
}

/// The goals of issues 7 and 12, judged on this run's medians and percentiles.
pub fn goals(reports: &[BackendReport]) -> Vec<Goal> {
    let mut goals = Vec::new();
    let mut goal = |met: bool, text: String| goals.push(Goal { text, met });
    for report in reports {
        let backend = report.backend;
        for result in &report.workloads {
            let number = result.workload.number();
            let (throughput, cpu) = result.ratios(Who::Raw);
            goal(
                throughput >= 0.97,
                format!("{backend} {number}: throughput >= 0.97x raw ({throughput:.3}x)"),
            );
            goal(
                cpu <= 1.10,
                format!("{backend} {number}: client CPU/op <= 1.10x raw ({cpu:.3}x)"),
            );
            if result.ran(Who::Sqlx) {
                let (throughput, cpu) = result.ratios(Who::Sqlx);
                goal(
                    throughput >= 1.0,
                    format!("{backend} {number}: throughput >= sqlx ({throughput:.3}x)"),
                );
                goal(
                    cpu <= 1.0,
                    format!("{backend} {number}: client CPU/op <= sqlx ({cpu:.3}x)"),
                );
            }
        }
        if let Some(trips) = &report.round_trips {
            goal(
                trips.tethered < trips.raw + 0.5,
                format!(
                    "{backend}: a point select on a busy connection takes no more round trips \
                     than raw ({:.2} vs {:.2})",
                    trips.tethered, trips.raw
                ),
            );
        }
        for series in &report.flood {
            let figures = FloodFigures::of(series);
            let stop = series.stop.name();
            goal(
                figures.returned.1 <= 10.0,
                format!(
                    "{backend} 7 ({stop}): p99 -> caller back <= 10 ms ({:.2} ms)",
                    figures.returned.1
                ),
            );
            goal(
                figures.left_running == 0,
                format!(
                    "{backend} 7 ({stop}): none left running ({} of {})",
                    figures.left_running,
                    series.trials.len()
                ),
            );
        }
        let tethered = report
            .cancellation
            .iter()
            .filter(|s| s.who == Who::Tethered);
        let mut worst_gone = 0.0f64;
        for series in tethered.clone() {
            let figures = CancelFigures::of(series);
            let stop = series.stop.name();
            goal(
                figures.returned.1 <= 5.0,
                format!(
                    "{backend} 5 ({stop}): p99 cancel -> caller back <= 5 ms ({:.2} ms)",
                    figures.returned.1
                ),
            );
            goal(
                figures.gone.1 <= 5.0,
                format!(
                    "{backend} 5 ({stop}): p99 cancel -> gone from the server's view <= 5 ms ({:.2} ms)",
                    figures.gone.1
                ),
            );
            worst_gone = worst_gone.max(figures.gone.1);
        }
        let orphans: usize = tethered
            .map(|series| CancelFigures::of(series).orphaned)
            .sum();
        goal(
            orphans == 0 && report.leftover == 0,
            format!(
                "{backend} 5: zero orphaned statements ({orphans} trials still running {} ms after the cancel; {} left at the end)",
                ORPHAN_AFTER.as_millis(),
                report.leftover
            ),
        );
        if let Some(sqlx) = report.cancellation.iter().find(|s| s.who == Who::Sqlx) {
            let sqlx_gone = CancelFigures::of(sqlx).gone.0;
            goal(
                worst_gone < sqlx_gone,
                format!(
                    "{backend} 5: better than sqlx (statement gone p99 {worst_gone:.2} ms vs sqlx's p50 {sqlx_gone:.0} ms)"
                ),
            );
        }
    }
    goals
}

/// The goals as text, one per line.
pub fn goals_text(goals: &[Goal]) -> String {
    let mut out = String::from("\ngoals:\n");
    for goal in goals {
        let _ = writeln!(
            out,
            "  [{}] {}",
            if goal.met { "met" } else { "MISSED" },
            goal.text
        );
    }
    let missed = goals.iter().filter(|goal| !goal.met).count();
    let _ = writeln!(out, "{} of {} goals met", goals.len() - missed, goals.len());
    out
}
