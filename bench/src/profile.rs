//! One contestant alone, for a profiler: `valgrind --tool=callgrind` counts instructions
//! whatever else the machine does, so two runs with different `PROFILE_QUERIES` give the
//! cost of one operation as the difference of their counts over the difference in
//! operations (`bench/callgrind.sh` does exactly that).
//!
//! `PROFILE_ONLY=<backend>/<contestant>`: `postgres`, `mysql` or `sqlite`; `raw`, `sqlx`
//! (not on SQLite), `tethered`
//! (a request scope with a deadline per operation, as in the table) or `tethered-root`
//! (the root context itself: no scope, no server-side limit). `PROFILE_WORKLOAD` (1–4
//! or 6, default 1) picks the workload, and `PROFILE_QUERIES` (default 2000) how many of
//! its operations to run after 200 (or, for workloads 3, 4 and 6, 2) of warm-up: selects
//! for workloads 1 and 2, transactions for 3, range selects for 4, streams of the whole
//! table for 6.
//!
//! With the feature `observed`, `PROFILE_OBSERVED=1` first installs a tracing subscriber
//! (the fmt layer at `DEBUG`, writing into a sink: every statement's span is recorded and
//! formatted) and a Prometheus metrics recorder, for the cost of being observed.
//!
//! Without a profiler it prints the measured part's wall time and client CPU per operation
//! (one contestant alone: a quick look, not a comparison) and, on MySQL/MariaDB, how many
//! statements the server prepared meanwhile (0: every statement came from a cache).

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Instant;

use crate::backend::{Backend, Observer};
use crate::compare;
use crate::contestant::{Contestant, Result};
use crate::measure::{millis, process_cpu};
use crate::mysql::MySqlBackend;
use crate::postgres::PostgresBackend;
use crate::settings::Settings;
use crate::sqlite::SqliteBackend;
use crate::tethered_contestant::REQUEST_BUDGET;
use crate::workload::{self, Workload};

/// Runs what `PROFILE_ONLY` (`selection`) names.
pub async fn profile(selection: &str) -> Result<()> {
    let (backend, contestant) = selection
        .split_once('/')
        .ok_or("PROFILE_ONLY is <backend>/<contestant>, e.g. postgres/tethered")?;
    let number: usize = env_count("PROFILE_WORKLOAD", 1)?;
    let workload = Workload::ALL
        .into_iter()
        .find(|w| w.number() == number)
        .ok_or("PROFILE_WORKLOAD is 1, 2, 3, 4 or 6")?;
    let operations = env_count("PROFILE_QUERIES", 2000)?;
    #[cfg(feature = "observed")]
    if std::env::var_os("PROFILE_OBSERVED").is_some() {
        observe_everything()?;
    }
    match backend {
        "postgres" => profile_on::<PostgresBackend>(contestant, workload, operations).await,
        "mysql" => profile_on::<MySqlBackend>(contestant, workload, operations).await,
        "sqlite" => profile_on::<SqliteBackend>(contestant, workload, operations).await,
        other => Err(format!("unknown backend {other}: postgres, mysql or sqlite").into()),
    }
}

/// Installs a tracing subscriber that records and formats every span and event, into a
/// sink, and a Prometheus recorder.
#[cfg(feature = "observed")]
fn observe_everything() -> Result<()> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
    );
    tracing::subscriber::set_global_default(subscriber)?;
    metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    Ok(())
}

fn env_count(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(value) => Ok(value
            .parse()
            .map_err(|_| format!("{name}={value} is not a count"))?),
        Err(_) => Ok(default),
    }
}

async fn profile_on<B: Backend>(
    contestant: &str,
    workload: Workload,
    operations: usize,
) -> Result<()> {
    let url = B::url();
    let mut observer = compare::observer::<B>(&url).await?;
    let tag = format!("profile_{}", std::process::id());
    let sizes = Settings::parse([])?.sizes;
    let connections = if workload.on_shared_pool() {
        sizes.shared_connections
    } else {
        1
    };
    compare::with_tables::<B, _>(&mut observer, &tag, async |observer, tables| {
        let statements = B::statements(tables);
        let run = Run {
            workload,
            operations,
        };
        match contestant {
            "raw" => {
                let raw = B::raw(&url, statements, connections).await?;
                run.on(raw, observer).await
            }
            "sqlx" => {
                if B::EMBEDDED {
                    // Its operations would each cross the pipe to its child here.
                    return Err(
                        "sqlx-sqlite runs in a process of its own (bench/sqlx-sqlite): \
                                profile that process"
                            .into(),
                    );
                }
                let sqlx = B::sqlx(&url, statements, connections).await?;
                run.on(sqlx, observer).await
            }
            "tethered" => {
                let budget = Some(REQUEST_BUDGET);
                let tethered = B::tethered(&url, statements, connections, budget).await?;
                run.on(tethered, observer).await
            }
            "tethered-root" => {
                let tethered = B::tethered(&url, statements, connections, None).await?;
                run.on(tethered, observer).await
            }
            other => Err(format!(
                "unknown contestant {other}: raw, sqlx, tethered or tethered-root"
            )
            .into()),
        }
    })
    .await
}

/// A workload run for a profiler.
struct Run {
    workload: Workload,
    operations: usize,
}

impl Run {
    async fn on<C: Contestant, O: Observer>(self, contestant: C, observer: &mut O) -> Result<()> {
        let contestant = Arc::new(contestant);
        let mut sizes = Settings::parse([])?.sizes;
        let next_id = AtomicI64::new(1);
        let warm_up = match self.workload {
            Workload::InsertTransaction | Workload::SelectMany | Workload::Stream => 2,
            _ => 200,
        };
        for (seed, count) in [(0, warm_up), (1, self.operations)] {
            sizes.sequential_selects = count;
            sizes.concurrent_selects = count;
            sizes.transactions = count;
            sizes.range_selects = count;
            sizes.streams = count;
            let prepared = observer.statements_prepared().await?;
            let (cpu, wall) = (process_cpu(), Instant::now());
            workload::run_once(&contestant, self.workload, &sizes, seed, &next_id).await?;
            let (cpu, wall) = (process_cpu() - cpu, wall.elapsed());
            if seed == 1 {
                // A quick look without a profiler; not interleaved, so not a comparison.
                eprintln!(
                    "{count} operations in {:.1} ms: {:.0} per second, {:.1} µs client CPU each",
                    millis(wall),
                    count as f64 / wall.as_secs_f64(),
                    cpu.as_secs_f64() * 1e6 / count as f64
                );
                if let (Some(before), Some(after)) =
                    (prepared, observer.statements_prepared().await?)
                {
                    // Global, so another session's prepares count too: 0 means none of ours.
                    eprintln!(
                        "statements the server prepared meanwhile: {}",
                        after - before
                    );
                }
            }
        }
        Ok(())
    }
}
