//! One backend's whole comparison: its tables made and dropped, its lineups, workloads 1–7.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use crate::backend::{Backend, Observer, Tables};
use crate::contestant::{Result, Statements};
use crate::lineup::Lineup;
use crate::report::{BackendReport, WorkloadResult};
use crate::settings::Settings;
use crate::tethered_contestant::REQUEST_BUDGET;
use crate::workload::Workload;
use tethered::Ctx;

use crate::{cancellation, flood, round_trips, workload};

/// Every contestant of backend `B` on pools of `connections`.
pub type LineupOf<B> = Lineup<<B as Backend>::Raw, <B as Backend>::Sqlx, <B as Backend>::Tethered>;

/// Opens the contestants of backend `B`, each on a pool of `connections`.
pub async fn lineup<B: Backend>(
    url: &str,
    statements: Statements,
    connections: usize,
) -> Result<LineupOf<B>> {
    Ok(Lineup {
        raw: Arc::new(B::raw(url, statements, connections).await?),
        sqlx: Arc::new(B::sqlx(url, statements, connections).await?),
        tethered: Arc::new(B::tethered(url, statements, connections, Some(REQUEST_BUDGET)).await?),
    })
}

/// Opens the observer of backend `B`, with a hint when the server does not answer.
pub async fn observer<B: Backend>(url: &str) -> Result<B::Observer> {
    B::observer(url).await.map_err(|error| {
        format!(
            "{} is not reachable at {url} ({error}): run scripts/ensure-databases or set {}",
            B::NAME,
            B::URL_VARIABLE
        )
        .into()
    })
}

/// Makes the run's tables, runs `body`, and drops the tables again whatever `body` did.
pub async fn with_tables<B: Backend, T>(
    observer: &mut B::Observer,
    tag: &str,
    body: impl AsyncFnOnce(&mut B::Observer, &Tables) -> Result<T>,
) -> Result<T> {
    let tables = Tables::new(tag);
    let mut outcome = Ok(());
    for sql in B::create_tables(&tables) {
        outcome = observer.execute(&sql).await;
        if outcome.is_err() {
            break;
        }
    }
    let outcome = match outcome {
        Ok(()) => body(observer, &tables).await,
        Err(error) => Err(error),
    };
    for sql in B::drop_tables(&tables) {
        observer.execute(&sql).await?;
    }
    outcome
}

/// Runs every workload on backend `B`.
pub async fn compare<B: Backend>(settings: &Settings, tag: &str) -> Result<BackendReport> {
    let url = B::url();
    let mut observer = observer::<B>(&url).await?;
    let server = observer.server_version().await?;
    let load_before = load_average();
    let (workloads, round_trips, cancellation, flood, leftover) =
        with_tables::<B, _>(&mut observer, tag, async |observer, tables| {
            let statements = B::statements(tables);
            let sizes = &settings.sizes;
            let single = lineup::<B>(&url, statements, 1).await?;
            let shared = lineup::<B>(&url, statements, sizes.shared_connections).await?;
            let next_insert_id = AtomicI64::new(1);
            let mut workloads = Vec::new();
            for workload in Workload::ALL {
                let title = workload.title(sizes);
                eprintln!("{}: {} {title}", B::NAME, workload.number());
                let lineup = if workload.on_shared_pool() {
                    &shared
                } else {
                    &single
                };
                let samples = workload::measure(lineup, workload, sizes, &next_insert_id).await?;
                workloads.push(WorkloadResult {
                    workload,
                    title,
                    samples,
                });
            }
            drop(shared);
            // An embedded database has no network to count round trips on.
            let round_trips = if B::EMBEDDED {
                None
            } else {
                eprintln!("{}: round trips per point select", B::NAME);
                Some(round_trips::measure::<B>(&url, statements).await?)
            };
            eprintln!("{}: 5 cancellation", B::NAME);
            let marker = format!("tethered-bench {tag}");
            let cancellation = cancellation::measure(
                &single,
                observer,
                &settings.plan,
                |sleep, marker| B::sleep(sleep.as_secs(), marker),
                &marker,
            )
            .await?;
            eprintln!("{}: 7 flood given up", B::NAME);
            let pool = B::tethered_pool(&Ctx::background(), &url, 1).await?;
            let flood =
                flood::measure(&pool, observer, B::flood, &marker, settings.plan.trials).await?;
            let leftover = observer.running(&marker).await?;
            Ok((workloads, round_trips, cancellation, flood, leftover))
        })
        .await?;
    Ok(BackendReport {
        backend: B::NAME,
        server,
        long_statement: B::LONG_STATEMENT,
        load: (load_before, load_average()),
        workloads,
        round_trips,
        cancellation,
        flood,
        leftover,
    })
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}
