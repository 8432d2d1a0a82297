//! The pool's background work: closing idle connections past `idle_timeout` or
//! `max_lifetime`, and keeping `min_idle` connections open.
//!
//! One task per pool, started with it inside a tokio runtime when the options give it
//! work, and stopped when the pool is closed or dropped. Each round is bounded: it closes
//! at most the idle connections there are, and opens at most `min_idle` connections, each
//! under a context of `acquire_timeout`, only with a permit that is free at once (it never
//! waits for one, so it never holds back a caller). Between rounds it holds only a weak
//! reference: a dropped pool is not kept alive by its maintenance.

use std::sync::{Arc, Weak};

use tokio::time::Instant;

use crate::ctx::Ctx;
use crate::driver::Driver;
use crate::pool::{Pool, Shared};

/// Starts the maintenance of `shared`, if it has work and a runtime is there to run it.
pub(crate) fn start<D: Driver>(shared: &Arc<Shared<D>>) {
    let Some(every) = shared.options.maintenance_interval() else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let stop = shared.maintenance.clone();
    let pool = Arc::downgrade(shared);
    runtime.spawn(async move {
        // The first round at once: `min_idle` connections are opened as the pool starts.
        let mut next = Instant::now();
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
            next = Instant::now() + every;
            tokio::select! {
                () = stop.cancelled() => return,
                alive = round(&pool) => if !alive { return },
            }
        }
    });
}

/// One round; `false` when the pool is gone.
async fn round<D: Driver>(pool: &Weak<Shared<D>>) -> bool {
    let Some(shared) = pool.upgrade() else {
        return false;
    };
    let expired = shared.members().expired(&shared.options, Instant::now());
    shared.forget(expired.len());
    drop(expired);
    let pool = Pool { shared };
    let missing = pool
        .shared
        .options
        .min_idle
        .saturating_sub(pool.shared.members().idle_count());
    for _ in 0..missing {
        let Ok(permit) = Arc::clone(&pool.shared.permits).try_acquire_owned() else {
            break;
        };
        let ctx = Ctx::background().with_timeout(pool.shared.options.acquire_timeout);
        // Returned at once: it joins the idle ones. A failure waits for the next round.
        match pool.open_pooled(&ctx, permit).await {
            Ok(connection) => drop(connection),
            Err(_) => break,
        }
    }
    true
}
