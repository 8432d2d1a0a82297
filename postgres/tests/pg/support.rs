//! What every PostgreSQL test needs: the server, or a loud failure saying how to start it.

use std::time::Duration;

use tethered_core::{Ctx, PoolOptions};
use tethered_postgres::{PgPool, connect};

pub fn url() -> String {
    std::env::var("TETHERED_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unreachable(error: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {} ({error}). Run `scripts/test`, which starts it, \
         or point TETHERED_POSTGRES_URL at a running server.",
        url()
    )
}


/// Pool options whose callers wait for every stop to settle, so outcomes asserted are final.
pub fn options(max_connections: usize) -> PoolOptions {
    let defaults = PoolOptions::default();
    PoolOptions {
        max_connections,
        stop_wait: defaults.cancel_grace,
        ..defaults
    }
}

pub async fn pool(max_connections: usize) -> PgPool {
    let options = options(max_connections);
    let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
    connect(&ctx, &url(), options)
        .await
        .unwrap_or_else(|error| unreachable(error))
}
