//! What every MySQL/MariaDB test needs: the server (or a loud failure saying how to start
//! it), an independent observer reading the server's own view, and unique names.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mysql_async::Conn;
use mysql_async::prelude::{FromValue, Queryable};
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

    pub async fn query_one<T: FromValue + Send + 'static>(&self, sql: &str) -> T {
        let value: Option<T> = self
            .conn
            .lock()
            .await
            .query_first(sql)
            .await
            .expect("observer query");
        value.expect("a row")
    }

    pub async fn execute(&self, sql: &str) {
        self.conn
            .lock()
            .await
            .query_drop(sql)
            .await
            .expect("observer statement");
    }

    /// Connections whose running statement carries `marker`.
    pub async fn running(&self, marker: &str) -> i64 {
        // As text, never prepared (MariaDB 10.11 has crashed freeing the temporary table of
        // a prepared PROCESSLIST query), the marker split so this text never holds it whole.
        assert!(
            marker
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        );
        let (head, tail) = marker.split_at(marker.len() / 2);
        let sql = format!(
            "SELECT count(*) FROM information_schema.PROCESSLIST \
             WHERE INFO LIKE CONCAT('%', '{head}', '{tail}', '%') AND ID <> CONNECTION_ID()"
        );
        let count: Option<i64> = self
            .conn
            .lock()
            .await
            .query_first(sql)
            .await
            .expect("PROCESSLIST");
        count.unwrap_or(0)
    }

    /// The id of the last statement connection `id` ran (MariaDB's `QUERY_ID`), or `None`
    /// if the server has no such connection.
    pub async fn last_query_id(&self, id: u64) -> Option<u64> {
        let sql = format!("SELECT QUERY_ID FROM information_schema.PROCESSLIST WHERE ID = {id}");
        self.conn
            .lock()
            .await
            .query_first(sql)
            .await
            .expect("PROCESSLIST")
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
        while self.last_query_id(id).await.is_some() {
            assert!(
                start.elapsed() < within,
                "connection {id} still open after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        start.elapsed()
    }
}
