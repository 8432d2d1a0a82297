//! What every PostgreSQL test needs: the server, or a loud failure saying how to start it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tethered_core::{Ctx, Executor, PoolOptions, Sql};
use tethered_postgres::{PgPool, connect};
use tokio::time::Instant;

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

/// How soon a stopped statement must be gone, or its caller answered: far below the
/// statements' own length, far above any scheduling delay on a loaded machine (the
/// milliseconds themselves are printed, and measured by the benchmark).
pub const PROMPTLY: Duration = Duration::from_secs(2);

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{n}", std::process::id())
}

/// Reads the server's own view of what runs, over a pool of its own.
pub struct Observer {
    pool: PgPool,
}

impl Observer {
    pub async fn connect() -> Observer {
        Observer {
            pool: pool(1).await,
        }
    }

    /// How many statements carrying `marker` the server runs.
    pub async fn running(&self, marker: &str) -> i64 {
        let ctx = Ctx::background().with_timeout(Duration::from_secs(5));
        let query = Sql::new(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
        )
        .bind(format!("%{marker}%"));
        let (count,): (i64,) = self
            .pool
            .fetch_one(&ctx, query)
            .await
            .expect("the server's view");
        count
    }

    /// Waits until a statement carrying `marker` runs; panics after `within`.
    pub async fn wait_running(&self, marker: &str, within: Duration) {
        let start = Instant::now();
        while self.running(marker).await == 0 {
            assert!(start.elapsed() < within, "`{marker}` never showed up");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until session `pid` runs exactly `query`; panics after `within`.
    pub async fn wait_session_running(&self, pid: i32, query: &str, within: Duration) {
        let ctx = Ctx::background().with_timeout(within);
        loop {
            let seen = Sql::new(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE pid = $1 AND state = 'active' AND query = $2",
            )
            .bind(pid)
            .bind(query);
            let (count,): (i64,) = self
                .pool
                .fetch_one(&ctx, seen)
                .await
                .unwrap_or_else(|error| panic!("session {pid} never ran {query:?}: {error}"));
            if count > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How long until no statement carrying `marker` runs; panics after `within`.
    pub async fn time_until_gone(&self, marker: &str, within: Duration) -> Duration {
        let start = Instant::now();
        while self.running(marker).await > 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` still runs after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }
}
