//! Round trips per point select (issue 20: the pool's health check must add none to a
//! busy connection). Each contestant runs on one connection through a proxy that delays
//! every byte [`DELAY`] each way, so a round trip costs 2 × [`DELAY`] and the elapsed time,
//! divided by that, counts them: a count no CPU noise can move by a whole round trip.

use std::time::{Duration, Instant};

use tethered::PoolOptions;
use tethered_tests::proxy::{Proxy, server_address};

use crate::backend::Backend;
use crate::contestant::{Contestant, Result, Statements};
use crate::tethered_contestant::REQUEST_BUDGET;

/// The proxy's delay, each way.
pub const DELAY: Duration = Duration::from_millis(10);
/// Point selects timed on a busy connection, after a warm-up.
pub const SELECTS: usize = 20;

/// Round trips per point select, raw and tethered, on a busy connection and on one idle
/// for longer than tethered's `ping_after_idle`.
#[derive(Clone, Copy, Debug)]
pub struct RoundTrips {
    /// The raw driver, one select after another.
    pub raw: f64,
    /// tethered, one select after another.
    pub tethered: f64,
    /// The raw driver, its connection idle before the select.
    pub raw_after_idle: f64,
    /// tethered, its connection idle before the select (the health check's ping is due).
    pub tethered_after_idle: f64,
    /// How long the connections were idle.
    pub idle: Duration,
}

/// Measures backend `B`'s round trips through a proxy to the server at `url`.
pub async fn measure<B: Backend>(url: &str, statements: Statements) -> Result<RoundTrips> {
    let address = server_address(url).ok_or_else(|| format!("`{url}` names no server"))?;
    let proxy = Proxy::start(address, DELAY).await?;
    let url = proxy.url(&B::over_tcp(url));
    let raw = B::raw(&url, statements, 1).await?;
    let tethered = B::tethered(&url, statements, 1, Some(REQUEST_BUDGET)).await?;
    // Connections opened and statements prepared before anything is timed.
    per_select(&raw, 3).await?;
    per_select(&tethered, 3).await?;
    let busy_raw = per_select(&raw, SELECTS).await?;
    let busy_tethered = per_select(&tethered, SELECTS).await?;
    let ping_after_idle = PoolOptions::default()
        .ping_after_idle
        .ok_or("the default pool options ping no idle connection")?;
    let idle = ping_after_idle + Duration::from_millis(200);
    tokio::time::sleep(idle).await;
    let raw_after_idle = per_select(&raw, 1).await?;
    tokio::time::sleep(idle).await;
    let tethered_after_idle = per_select(&tethered, 1).await?;
    if proxy.accepted() < 2 {
        return Err("the contestants did not go through the proxy".into());
    }
    Ok(RoundTrips {
        raw: busy_raw,
        tethered: busy_tethered,
        raw_after_idle,
        tethered_after_idle,
        idle,
    })
}

/// Runs `count` point selects on `contestant`, one after another, and returns the round
/// trips each took.
async fn per_select<C: Contestant>(contestant: &C, count: usize) -> Result<f64> {
    let started = Instant::now();
    for id in 1..=count {
        let id = i64::try_from(id)?;
        let item = contestant.point_select(id).await?;
        if item.id != id {
            return Err(format!("point select {id} returned row {}", item.id).into());
        }
    }
    let round_trip = 2.0 * DELAY.as_secs_f64();
    Ok(started.elapsed().as_secs_f64() / (count as f64 * round_trip))
}
