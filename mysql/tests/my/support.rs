//! What every MySQL/MariaDB test needs: the server (or a loud failure saying how to start
//! it), an independent observer reading the server's own view, and unique names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tethered_core::{Ctx, PoolOptions};
use tethered_mysql::{MyPool, connect};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How soon a stopped statement must be gone, or its caller answered: far below the
/// statements' own length, far above any scheduling delay on a loaded machine (the
/// milliseconds themselves are printed, and measured by the benchmark).
pub const PROMPTLY: Duration = Duration::from_secs(2);

pub fn url() -> String {
    std::env::var("TETHERED_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned())
}

fn unreachable(error: impl std::fmt::Display) -> ! {
    panic!(
        "MariaDB/MySQL is not reachable at {} ({error}). Run `scripts/test`, which starts it, \
         or point TETHERED_MYSQL_URL at a running server.",
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

pub async fn pool(max_connections: usize) -> MyPool {
    let options = options(max_connections);
    let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
    connect(&ctx, &url(), options)
        .await
        .unwrap_or_else(|error| unreachable(error))
}

/// A plain mysql_async connection, outside tethered.
pub async fn plain_connection() -> Conn {
    Conn::from_url(url())
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

/// A separate, plain mysql_async connection that watches the server's own view.
pub struct Observer {
    conn: Mutex<Conn>,
}

impl Observer {
    pub async fn connect() -> Observer {
        Observer {
            conn: Mutex::new(plain_connection().await),
        }
    }

    pub async fn execute(&self, sql: &str) {
        self.conn
            .lock()
            .await
            .query_drop(sql)
            .await
            .expect("observer statement");
    }

    /// Every session on the server, by `SHOW FULL PROCESSLIST`: id, user and statement text.
    ///
    /// Not `information_schema.PROCESSLIST`: MariaDB 10.11.19 has crashed (signal 11 in
    /// `ha_maria::drop_table`, freeing the internal temporary table such a query fills),
    /// prepared and as text alike, under the test suites' polls. `SHOW PROCESSLIST` sends
    /// its rows without one.
    pub async fn processlist(&self) -> Vec<(u64, String, Option<String>)> {
        let rows: Vec<mysql_async::Row> = self
            .conn
            .lock()
            .await
            .query("SHOW FULL PROCESSLIST")
            .await
            .expect("SHOW FULL PROCESSLIST");
        rows.into_iter()
            .map(|row| {
                let id = row.get(0).expect("Id");
                let user = row.get(1).expect("User");
                let info = row.get::<Option<String>, _>(7).expect("Info");
                (id, user, info)
            })
            .collect()
    }

    /// Connections whose running statement carries `marker`.
    pub async fn running(&self, marker: &str) -> i64 {
        let processes = self.processlist().await;
        let running = processes
            .iter()
            .filter(|(_, _, info)| info.as_deref().is_some_and(|info| info.contains(marker)))
            .count();
        i64::try_from(running).expect("a count")
    }

    /// The ids of the sessions of `user`.
    pub async fn sessions_of(&self, user: &str) -> Vec<u64> {
        let processes = self.processlist().await;
        processes
            .into_iter()
            .filter_map(|(id, of, _)| (of == user).then_some(id))
            .collect()
    }

    /// Waits until the statement carrying `marker` is seen running; panics after `within`.
    pub async fn wait_running(&self, marker: &str, within: Duration) {
        let start = Instant::now();
        while self.running(marker).await == 0 {
            assert!(
                start.elapsed() < within,
                "`{marker}` never showed up in PROCESSLIST"
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

    /// How long until the server has no connection `id`; panics after `within`.
    pub async fn time_until_closed(&self, id: u64, within: Duration) -> Duration {
        let start = Instant::now();
        while self
            .processlist()
            .await
            .iter()
            .any(|(seen, _, _)| *seen == id)
        {
            assert!(
                start.elapsed() < within,
                "connection {id} still open after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }
}
