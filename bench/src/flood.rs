//! Workload 7 (tethered only): a flood of rows given up mid-way (issue 12). A statement
//! that yields rows as fast as the server makes them, for far longer than any trial, is
//! ended two ways while its rows pour in: the request is cancelled mid-stream (after
//! [`FLOOD_FOR`] of reading), or its deadline ([`FLOOD_FOR`] from the start) passes
//! during a `fetch_all`. How soon the caller has the `Canceled` error, and how soon the
//! statement is gone from the server's activity view.
//!
//! Only tethered is measured: the raw drivers and sqlx cannot be told to stop a stream
//! (dropping theirs leaves the statement running, as workload 5 shows for a sleep).

use std::time::Duration;

use futures_util::TryStreamExt;
use tethered::{Ctx, Driver, Executor, FromRow, Pool, RowOf};
use tokio::time::Instant;

use crate::backend::Observer;
use crate::contestant::Result;
use crate::measure::millis;

/// How long the rows pour in before the flood is given up.
pub const FLOOD_FOR: Duration = Duration::from_millis(20);

/// How long the harness waits for a statement to leave the activity view before it
/// counts it as left running.
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// How the flood is given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloodStop {
    /// The request's scope is cancelled while the caller reads a stream.
    CancelMidStream,
    /// The request's deadline passes during a `fetch_all`.
    DeadlineDuringFetchAll,
}

impl FloodStop {
    /// Both, in the table's order.
    pub const ALL: [FloodStop; 2] = [
        FloodStop::CancelMidStream,
        FloodStop::DeadlineDuringFetchAll,
    ];

    /// Its name in the table and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            FloodStop::CancelMidStream => "cancel mid-stream",
            FloodStop::DeadlineDuringFetchAll => "deadline during fetch_all",
        }
    }
}

/// What one trial saw.
#[derive(Clone, Copy, Debug)]
pub struct FloodTrial {
    /// From the cancel (or the deadline) to the caller holding the `Canceled` error.
    pub returned_after: Duration,
    /// From the cancel (or the deadline) to the first read of the activity view without
    /// the statement; `None`: still there after [`GONE_WITHIN`].
    pub gone_after: Option<Duration>,
    /// Rows the caller had been handed.
    pub rows: u64,
}

/// Every trial of one way of giving the flood up.
#[derive(Clone, Debug)]
pub struct FloodSeries {
    /// How it was given up.
    pub stop: FloodStop,
    /// The trials.
    pub trials: Vec<FloodTrial>,
}

impl FloodSeries {
    /// The trials' `what`, in milliseconds (the ones that have it).
    pub fn millis(&self, what: impl Fn(&FloodTrial) -> Option<Duration>) -> Vec<f64> {
        self.trials.iter().filter_map(what).map(millis).collect()
    }
}

/// Runs `trials` of each [`FloodStop`] on `pool` (one connection), `flood(marker)` being
/// the backend's flood statement; `observer` watches the server.
pub async fn measure<D, O>(
    pool: &Pool<D>,
    observer: &mut O,
    flood: impl Fn(&str) -> String,
    marker: &str,
    trials: usize,
) -> Result<Vec<FloodSeries>>
where
    D: Driver,
    O: Observer,
    (i64,): FromRow<RowOf<D>>,
{
    let root = Ctx::background();
    let mut all = Vec::new();
    for stop in FloodStop::ALL {
        let mut series = FloodSeries {
            stop,
            trials: Vec::new(),
        };
        for trial in 0..trials {
            let marker = format!("{marker} flood {} {trial}", stop.name());
            let sql = flood(&marker);
            let (at, returned_at, rows) = give_up(stop, pool, &root, sql).await?;
            let gone_after = gone(observer, &marker, at).await?;
            series.trials.push(FloodTrial {
                returned_after: returned_at - at,
                gone_after,
                rows,
            });
        }
        all.push(series);
    }
    Ok(all)
}

/// Runs the flood on `pool` and gives it up the way `stop` says: when it was given up (the
/// cancel, or the deadline), when the caller had the `Canceled` error, and the rows the
/// caller had been handed.
async fn give_up<D>(
    stop: FloodStop,
    pool: &Pool<D>,
    root: &Ctx,
    sql: String,
) -> Result<(Instant, Instant, u64)>
where
    D: Driver,
    (i64,): FromRow<RowOf<D>>,
{
    match stop {
        FloodStop::CancelMidStream => {
            let request = root.with_timeout(GONE_WITHIN);
            let mut rows = pool.fetch::<(i64,)>(&request, sql);
            let mut handed = 0;
            let started = Instant::now();
            while started.elapsed() < FLOOD_FOR {
                rows.try_next().await?.ok_or("the flood ended by itself")?;
                handed += 1;
            }
            let at = Instant::now();
            request.cancel("the client went away");
            // The very next item must be the error: no row is handed out after the cancel.
            match rows.try_next().await {
                Ok(Some(_)) => Err("a row was handed out after the cancel".into()),
                Ok(None) => Err("the stream ended without the Canceled error".into()),
                Err(error) if error.is_cancellation() => Ok((at, Instant::now(), handed)),
                Err(error) => Err(error.into()),
            }
        }
        FloodStop::DeadlineDuringFetchAll => {
            // `fetch_all` hands out all the rows or the error, so none were handed.
            let request = root.with_timeout(FLOOD_FOR);
            let deadline = request
                .deadline()
                .ok_or("a scope with a timeout has a deadline")?;
            match pool.fetch_all::<(i64,)>(&request, sql).await {
                Err(error) if error.is_deadline_exceeded() => Ok((deadline, Instant::now(), 0)),
                Err(error) => Err(error.into()),
                Ok(rows) => {
                    Err(format!("the flood ended by itself after {} rows", rows.len()).into())
                }
            }
        }
    }
}

/// How long after `since` the activity view first no longer shows `marker`.
async fn gone<O: Observer>(
    observer: &mut O,
    marker: &str,
    since: Instant,
) -> Result<Option<Duration>> {
    while since.elapsed() < GONE_WITHIN {
        if observer.running(marker).await? == 0 {
            return Ok(Some(since.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(None)
}
