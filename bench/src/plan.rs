//! One round of a throughput workload as data (a [`Plan`]: the keys, ranges and rows it
//! reads or writes, made before the round is timed) and the one loop that runs a plan on
//! any contestant's [`Operations`], timed.
//!
//! Shared, through `#[path]`, with the sqlx-sqlite child (`bench/sqlx-sqlite`), which runs
//! the same plans with the same loop in a process of its own: so this file and the files it
//! names (`measure.rs`) depend on std, tokio and serde only, not on tethered.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::measure::process_cpu;

/// Any error a contestant or the harness runs into; the run stops on it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `Result` with [`BoxError`].
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// The statement texts of one run, in the backend's placeholder syntax. Leaked once, as an
/// application's `const` statements would be, so no contestant copies them per call.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Statements {
    /// `SELECT id, name, n FROM <items> WHERE id = <1>`.
    pub point_select: &'static str,
    /// `SELECT id, name, n FROM <items> WHERE id BETWEEN <1> AND <2> ORDER BY id`.
    pub select_range: &'static str,
    /// `INSERT INTO <inserts> (id, name, n) VALUES (<1>, <2>, <3>)`.
    pub insert: &'static str,
}

/// A row of the benchmark's tables as a contestant hands it back (and is given, to insert):
/// row `id` holds `n = id * 7`, which every read checks, so nobody skips work.
pub trait ItemRow {
    /// Its primary key.
    fn id(&self) -> i64;
    /// Its text.
    fn name(&self) -> &str;
    /// Its number.
    fn n(&self) -> i64;
}

/// An error unless `item` is row `id`.
pub fn check(item: &impl ItemRow, id: i64) -> Result<()> {
    if item.id() == id && item.n() == id * 7 {
        Ok(())
    } else {
        Err(format!(
            "asked for row {id}, got row {} (n = {})",
            item.id(),
            item.n()
        )
        .into())
    }
}

/// What a contestant's stream has read so far: every row must be the next key's, so each
/// is really decoded and looked at, and none is skipped.
pub struct Streamed {
    next: i64,
    count: u64,
}

impl Streamed {
    /// A stream whose first row is `first`'s.
    pub fn starting_at(first: i64) -> Streamed {
        Streamed {
            next: first,
            count: 0,
        }
    }

    /// Takes the next row: an error if it is not the one expected.
    pub fn take(&mut self, item: &impl ItemRow) -> Result<()> {
        check(item, self.next)?;
        self.next += 1;
        self.count += 1;
        Ok(())
    }

    /// The rows taken.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// The operations the throughput workloads are made of, on the same rows and the same
/// statement texts, for one contestant on a pool of its own.
///
/// Every operation checks out a connection for itself and gives it back when it ends, as
/// a service handling one request would.
pub trait Operations: Send + Sync + 'static {
    /// The row type it decodes into.
    type Item: ItemRow + Send + Sync + 'static;

    /// Reads the row with primary key `id`.
    fn point_select(&self, id: i64) -> impl Future<Output = Result<Self::Item>> + Send;

    /// Inserts `items`, one `INSERT` each, in one transaction.
    fn insert_in_transaction(
        &self,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Reads the rows with keys `first..=last`, in key order.
    fn select_range(
        &self,
        first: i64,
        last: i64,
    ) -> impl Future<Output = Result<Vec<Self::Item>>> + Send;

    /// Reads the rows with keys `first..=last`, in key order, one at a time as the server
    /// sends them (each decoded, checked and dropped before the next; see [`Streamed`]),
    /// and returns how many there were: the driver's streaming path, in bounded memory.
    fn stream_range(&self, first: i64, last: i64) -> impl Future<Output = Result<u64>> + Send;
}

/// One round of a workload, with its input made beforehand.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Plan<I> {
    /// Point selects of these keys, one after another.
    PointSelects(Vec<i64>),
    /// Point selects from one task per list of keys, all at once.
    ConcurrentPointSelects(Vec<Vec<i64>>),
    /// One transaction per list of rows, one `INSERT` per row.
    Transactions(Vec<Vec<I>>),
    /// Selects of these inclusive key ranges, one after another.
    Ranges(Vec<(i64, i64)>),
    /// This many streams of the keys `1..=last`, one after another.
    Streams {
        /// How many streams.
        count: usize,
        /// The last key of each.
        last: i64,
    },
}

/// What one timed round did.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Ran {
    /// The operations done.
    pub operations: u64,
    /// Its wall time.
    pub wall: Duration,
    /// The process's CPU time (user + system, all threads) over it.
    pub cpu: Duration,
}

/// Runs `plan` on `operations`, timed by the wall clock and the process's CPU clock.
pub async fn run_timed<O: Operations>(operations: &Arc<O>, plan: Plan<O::Item>) -> Result<Ran> {
    let (cpu, wall) = (process_cpu(), Instant::now());
    let done = run(operations, plan).await?;
    Ok(Ran {
        operations: done,
        wall: wall.elapsed(),
        cpu: process_cpu() - cpu,
    })
}

/// Runs `plan` on `operations`; returns the operations done.
pub async fn run<O: Operations>(operations: &Arc<O>, plan: Plan<O::Item>) -> Result<u64> {
    match plan {
        Plan::PointSelects(ids) => {
            for &id in &ids {
                check(&operations.point_select(id).await?, id)?;
            }
            Ok(ids.len() as u64)
        }
        Plan::ConcurrentPointSelects(tasks) => {
            let done = tasks.iter().map(Vec::len).sum::<usize>();
            let tasks: Vec<_> = tasks
                .into_iter()
                .map(|ids| {
                    let operations = Arc::clone(operations);
                    tokio::spawn(async move {
                        for id in ids {
                            check(&operations.point_select(id).await?, id)?;
                        }
                        Ok::<_, BoxError>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await??;
            }
            Ok(done as u64)
        }
        Plan::Transactions(transactions) => {
            let mut done = 0;
            for rows in &transactions {
                operations.insert_in_transaction(rows).await?;
                done += rows.len() as u64;
            }
            Ok(done)
        }
        Plan::Ranges(ranges) => {
            let mut done = 0;
            for &(first, last) in &ranges {
                let items = operations.select_range(first, last).await?;
                if items.len() as i64 != last - first + 1 {
                    return Err(format!("{} rows from {first}..={last}", items.len()).into());
                }
                check(&items[0], first)?;
                check(&items[items.len() - 1], last)?;
                done += items.len() as u64;
            }
            Ok(done)
        }
        Plan::Streams { count, last } => {
            let mut done = 0;
            for _ in 0..count {
                let rows = operations.stream_range(1, last).await?;
                if rows != last as u64 {
                    return Err(format!("{rows} rows streamed of {last}").into());
                }
                done += rows;
            }
            Ok(done)
        }
    }
}
