//! Workloads 1–4 and 6 (streaming), written once for every contestant, and their interleaved rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::backend::ROWS;
use crate::contestant::{Contestant, Item, Result};
use crate::lineup::{Lineup, Task, Who, order};
use crate::plan::{self, Plan, Ran};

/// A throughput workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Point selects by primary key, one after another, on a 1-connection pool: latency
    /// bound.
    SequentialPointSelect,
    /// Point selects from many tasks over an 8-connection pool: throughput bound.
    ConcurrentPointSelect,
    /// 1,000 single-row `INSERT`s in one transaction.
    InsertTransaction,
    /// Selects of 1,000 rows, each decoded into an [`Item`].
    SelectMany,
    /// The whole items table streamed, row by row, each decoded into an [`Item`] and
    /// dropped: the drivers' streaming paths (issue 12).
    Stream,
}

impl Workload {
    /// Every workload, in the order of the table.
    pub const ALL: [Workload; 5] = [
        Workload::SequentialPointSelect,
        Workload::ConcurrentPointSelect,
        Workload::InsertTransaction,
        Workload::SelectMany,
        Workload::Stream,
    ];

    /// Its key in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Workload::SequentialPointSelect => "point_select_sequential",
            Workload::ConcurrentPointSelect => "point_select_concurrent",
            Workload::InsertTransaction => "insert_transaction",
            Workload::SelectMany => "select_many",
            Workload::Stream => "stream",
        }
    }

    /// Its number in the table (1–4 from issue 7; 5 is the cancellation workload).
    pub fn number(self) -> usize {
        match self {
            Workload::SequentialPointSelect => 1,
            Workload::ConcurrentPointSelect => 2,
            Workload::InsertTransaction => 3,
            Workload::SelectMany => 4,
            Workload::Stream => 6,
        }
    }

    /// Its title in the table.
    pub fn title(self, sizes: &Sizes) -> String {
        match self {
            Workload::SequentialPointSelect => "point select, 1 connection, sequential".into(),
            Workload::ConcurrentPointSelect => format!(
                "point select, {} tasks over {} connections",
                sizes.tasks, sizes.shared_connections
            ),
            Workload::InsertTransaction => {
                format!(
                    "insert {} rows in one transaction",
                    sizes.rows_per_transaction
                )
            }
            Workload::SelectMany => format!("select {} rows into structs", sizes.rows_per_range),
            Workload::Stream => format!(
                "stream {} rows into structs, one at a time",
                sizes.streams as i64 * ROWS
            ),
        }
    }

    /// What one operation is: the throughput is counted in these, and CPU is per one.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::SequentialPointSelect | Workload::ConcurrentPointSelect => "select",
            Workload::InsertTransaction => "row inserted",
            Workload::SelectMany => "row decoded",
            Workload::Stream => "row streamed",
        }
    }

    /// Whether it runs on the 8-connection lineup (the others run on the 1-connection one).
    pub fn on_shared_pool(self) -> bool {
        self == Workload::ConcurrentPointSelect
    }
}

/// How much work one round of each workload does.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Interleaved rounds measured (after one warm-up round that is not).
    pub rounds: usize,
    /// Workload 1: selects per round.
    pub sequential_selects: usize,
    /// Workload 2: selects per round, spread over [`Sizes::tasks`].
    pub concurrent_selects: usize,
    /// Workload 2: concurrent tasks.
    pub tasks: usize,
    /// Workload 2: connections in the shared pool.
    pub shared_connections: usize,
    /// Workload 3: transactions per round.
    pub transactions: usize,
    /// Workload 3: rows per transaction.
    pub rows_per_transaction: usize,
    /// Workload 4: selects per round.
    pub range_selects: usize,
    /// Workload 4: rows per select.
    pub rows_per_range: i64,
    /// Workload 6: streams of the whole items table per round.
    pub streams: usize,
}

/// What one measured round of one contestant gave.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Operations per second of wall time.
    pub throughput: f64,
    /// The process's CPU time (user + system) per operation.
    pub cpu_per_op: Duration,
}

/// The plan of one round of `workload` (see [`Plan`]): its keys varied by `seed` from
/// round to round, workload 3's rows with keys never used before.
fn plan(workload: Workload, sizes: &Sizes, seed: usize, next_id: &AtomicI64) -> Plan<Item> {
    match workload {
        Workload::SequentialPointSelect => Plan::PointSelects(
            (0..sizes.sequential_selects)
                .map(|step| key(seed, 0, step))
                .collect(),
        ),
        Workload::ConcurrentPointSelect => {
            let per_task = sizes.concurrent_selects / sizes.tasks;
            Plan::ConcurrentPointSelects(
                (0..sizes.tasks)
                    .map(|task| (0..per_task).map(|step| key(seed, task, step)).collect())
                    .collect(),
            )
        }
        Workload::InsertTransaction => Plan::Transactions(
            (0..sizes.transactions)
                .map(|_| {
                    let rows = sizes.rows_per_transaction as i64;
                    let first = next_id.fetch_add(rows, Ordering::Relaxed);
                    (first..first + rows).map(Item::numbered).collect()
                })
                .collect(),
        ),
        Workload::SelectMany => Plan::Ranges(
            (0..sizes.range_selects)
                .map(|step| {
                    let first = key(seed, 0, step).min(ROWS - sizes.rows_per_range + 1);
                    (first, first + sizes.rows_per_range - 1)
                })
                .collect(),
        ),
        Workload::Stream => Plan::Streams {
            count: sizes.streams,
            last: ROWS,
        },
    }
}

/// A key spread over the items table, different for each round, task and step.
fn key(seed: usize, task: usize, step: usize) -> i64 {
    let mixed = seed
        .wrapping_mul(1_000_003)
        .wrapping_add(task.wrapping_mul(7_919))
        .wrapping_add(step.wrapping_mul(104_729));
    (mixed as i64).rem_euclid(ROWS) + 1
}

/// A round's plan, run on whichever contestant is next in turn.
struct Round(Plan<Item>);

impl Task for Round {
    type Output = Result<Ran>;

    async fn run<C: Contestant>(self, contestant: &Arc<C>) -> Result<Ran> {
        C::round(contestant, self.0).await
    }
}

/// Runs one round of `workload` on `contestant`, untimed (for a profiler); returns the
/// operations done.
pub async fn run_once<C: Contestant>(
    contestant: &Arc<C>,
    workload: Workload,
    sizes: &Sizes,
    seed: usize,
    next_insert_id: &AtomicI64,
) -> Result<u64> {
    plan::run(contestant, plan(workload, sizes, seed, next_insert_id)).await
}

/// Runs `workload` on every contestant of `lineup`: one warm-up round (connections opened,
/// statements prepared and cached) and then `sizes.rounds` measured ones, the contestants'
/// order turning each round. Returns each contestant's samples, in [`Who::ALL`] order.
pub async fn measure<R, S, T>(
    lineup: &Lineup<R, S, T>,
    workload: Workload,
    sizes: &Sizes,
    next_insert_id: &AtomicI64,
) -> Result<[Vec<Sample>; 3]>
where
    R: Contestant,
    S: Contestant,
    T: Contestant,
{
    let mut samples: [Vec<Sample>; 3] = Default::default();
    for round in 0..=sizes.rounds {
        for who in order(round) {
            let input = Round(plan(workload, sizes, round, next_insert_id));
            let Ran {
                operations,
                wall,
                cpu,
            } = lineup.run(who, input).await?;
            if round > 0 {
                let index = Who::ALL
                    .iter()
                    .position(|w| *w == who)
                    .expect("a contestant");
                samples[index].push(Sample {
                    throughput: operations as f64 / wall.as_secs_f64(),
                    cpu_per_op: cpu / u32::try_from(operations)?,
                });
            }
        }
    }
    Ok(samples)
}
