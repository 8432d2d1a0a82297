//! The peer benchmark: tethered against raw tokio-postgres / mysql_async / rusqlite and sqlx
//! (not on SQLite: see `sqlite.rs`), on the same data, the same pool sizes and the same
//! statements, in one process, in interleaved rounds, and a cancellation workload watched
//! from the database's side.
//!
//! `cargo run --release -p tethered-bench` prints the table and the goals;
//! `-- --json` prints one JSON object per row instead; `-- --help` lists the options.
//! `PROFILE_ONLY=...` runs one contestant alone for a profiler (see [`profile`]);
//! `-- --storm` runs the suite's storm, herds and slow network at scale (see [`storm`]).
//! bench/README.md says what each workload measures and how.

mod backend;
mod bulk;
mod cancellation;
mod compare;
mod contestant;
mod flood;
mod lineup;
mod measure;
mod mysql;
mod plan;
mod postgres;
mod profile;
mod raw_mysql;
mod raw_pool;
mod raw_postgres;
mod raw_sqlite;
mod report;
mod round_trips;
mod settings;
mod sqlite;
mod sqlx_contestant;
mod sqlx_operations;
mod sqlx_sqlite;
mod sqlx_sqlite_protocol;
mod storm;
mod tethered_contestant;
mod workload;

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use backend::Backend;
use contestant::Result;
use mysql::MySqlBackend;
use postgres::PostgresBackend;
use settings::Settings;
use sqlite::SqliteBackend;

fn main() -> ExitCode {
    let settings = match Settings::parse(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    // Two workers, as the machine has two cores; every contestant shares them alike. A
    // profile runs one contestant alone on one worker: under callgrind threads take turns
    // anyway, and with two the count moved by ±3 % with how they happened to park and
    // steal.
    let workers = if std::env::var_os("PROFILE_ONLY").is_some() {
        1
    } else {
        2
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    // Run on a worker, not on the thread that blocks on the runtime, so that every
    // contestant's tasks are scheduled the same way.
    let outcome = runtime.block_on(async {
        match tokio::spawn(run(settings)).await {
            Ok(outcome) => outcome,
            Err(panicked) => Err(panicked.into()),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tethered-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> Result<()> {
    if let Ok(selection) = std::env::var("PROFILE_ONLY") {
        return profile::profile(&selection).await;
    }
    if settings.storm.on {
        return storm::run(&settings).await;
    }
    if settings.bulk {
        return bulk::run(&settings).await;
    }
    let started = Instant::now();
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH)?;
    let tag = format!("{}_{}", std::process::id(), since_epoch.as_secs());
    let mut reports = Vec::new();
    if settings.runs(PostgresBackend::NAME) {
        reports.push(compare::compare::<PostgresBackend>(&settings, &tag).await?);
    }
    if settings.runs(MySqlBackend::NAME) {
        reports.push(compare::compare::<MySqlBackend>(&settings, &tag).await?);
    }
    if settings.runs(SqliteBackend::NAME) {
        reports.push(compare::compare::<SqliteBackend>(&settings, &tag).await?);
    }
    let goals = report::goals(&reports);
    if settings.json {
        for row in report::json_rows(&reports, &goals) {
            println!("{row}");
        }
    } else {
        let header = header(&settings, since_epoch.as_secs());
        print!(
            "{}",
            report::table(&header, &reports, settings.plan.cancel_after)
        );
        print!("{}", report::goals_text(&goals));
        println!("measured in {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The date, the machine and the sizes, above the table.
fn header(settings: &Settings, unix_seconds: u64) -> String {
    let (year, month, day) = civil_date(unix_seconds / 86_400);
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: u64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "? GiB".to_owned());
    let sizes = &settings.sizes;
    let plan = &settings.plan;
    format!(
        "tethered peer benchmark, {year:04}-{month:02}-{day:02}, {cores} cores, {memory}, \
         tokio with 2 workers; medians of {} interleaved rounds (after 1 warm-up round)\n\
         client CPU = this process's user + system CPU time (getrusage's sum, read from \
         CLOCK_PROCESS_CPUTIME_ID) per operation; spread = interquartile range / median\n\
         cancellation: {} trials per way of stopping tethered ({} s sleep), {} per \
         contestant without an automatic cancel ({} s sleep)",
        sizes.rounds,
        plan.trials,
        plan.sleep.as_secs(),
        plan.abandon_trials,
        plan.abandon_sleep.as_secs(),
    )
}

/// The proleptic Gregorian date of day `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn days_since_the_epoch_become_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
        assert_eq!(civil_date(20_779), (2026, 11, 22));
    }
}
