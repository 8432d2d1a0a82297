//! What every PostgreSQL test needs: the server (or a loud failure saying how to start
//! it), an independent observer reading the server's own view, and unique names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tethered_core::{Ctx, PoolOptions};
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

/// A name no other test, run, or earlier run uses: `<prefix>_<pid>_<nanos>_<n>`.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{n}", std::process::id())
}

/// A separate, plain tokio-postgres connection that watches the server's own view.
pub struct Observer {
    client: tokio_postgres::Client,
}

impl Observer {
    pub async fn connect() -> Observer {
        let (client, connection) = tokio_postgres::connect(&url(), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|error| unreachable(error));
        tokio::spawn(connection);
        Observer { client }
    }

    pub async fn query_one<T>(&self, sql: &str) -> T
    where
        T: for<'a> tokio_postgres::types::FromSql<'a>,
    {
        let row = self
            .client
            .query_one(sql, &[])
            .await
            .expect("observer query");
        row.get(0)
    }

    pub async fn execute(&self, sql: &str) {
        self.client
            .batch_execute(sql)
            .await
            .expect("observer statement");
    }

    /// Backends whose running statement carries `marker`.
    pub async fn running(&self, marker: &str) -> i64 {
        let sql = "SELECT count(*) FROM pg_stat_activity \
                   WHERE state = 'active' AND query LIKE '%' || $1 || '%' \
                   AND pid <> pg_backend_pid()";
        let row = self
            .client
            .query_one(sql, &[&marker])
            .await
            .expect("pg_stat_activity");
        row.get(0)
    }

    /// Waits until the statement carrying `marker` is seen running; panics after `within`.
    pub async fn wait_running(&self, marker: &str, within: Duration) {
        let start = Instant::now();
        while self.running(marker).await == 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` never showed up in pg_stat_activity"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// How long until no statement carrying `marker` runs; panics after `within`.
    pub async fn time_until_gone(&self, marker: &str, within: Duration) -> Duration {
        let start = Instant::now();
        while self.running(marker).await > 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` still runs on the server after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }
}

/// A small deterministic generator for randomized trials (xorshift64*), seeded and
/// printed by the test so a failing run can be replayed.
pub struct Random(u64);

impl Random {
    pub fn seeded() -> Random {
        let seed = std::env::var("TETHERED_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(1, |elapsed| elapsed.as_nanos() as u64)
            });
        println!("random seed {seed} (replay with TETHERED_SEED={seed})");
        Random::new(seed)
    }

    pub fn new(seed: u64) -> Random {
        Random(seed | 1)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}
