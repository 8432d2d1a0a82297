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

pub async fn pool(max_connections: usize) -> PgPool {
    let options = PoolOptions {
        max_connections,
        ..PoolOptions::default()
    };
    let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
    connect(&ctx, &url(), options)
        .await
        .unwrap_or_else(|error| unreachable(error))
}
