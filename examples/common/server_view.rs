//! The database server's own view of what is running (`pg_stat_activity`,
//! `information_schema.PROCESSLIST`; on SQLite, which has none, the engine's counters of
//! `sqlite_view.rs`, ticked by the statement itself), read over a connection of its own:
//! what the database does, not what the client believes. Shared by `cancel_demo` and the
//! HTTP end-to-end tests.

use std::time::{Duration, Instant};

use tethered::{Ctx, Executor, Result};

use super::backend::{Db, on_pool};

impl Db {
    /// How many statements whose text contains `marker` are running on the server, other
    /// than this one; on SQLite, how many statements ticking a label that contains `marker`
    /// ticked within the last `sqlite_view::STILL`.
    pub async fn count_running(&self, ctx: &Ctx, marker: &str) -> Result<i64> {
        // The pattern in the text, split so that this statement's own text never holds
        // the marker whole; sent as text, never prepared: MariaDB 10.11 has crashed freeing
        // the temporary table of a prepared `information_schema.PROCESSLIST` query.
        assert!(
            marker
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"_-.:".contains(&byte)),
            "a marker is letters, digits and _-.: only: {marker:?}"
        );
        let (head, tail) = marker.split_at(marker.len() / 2);
        let pattern = format!("concat('%', '{head}', '{tail}', '%')");
        let running = match self {
            Db::Postgres(_) => format!(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE {pattern} AND pid <> pg_backend_pid()"
            ),
            Db::Mysql(_) => format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE {pattern} AND ID <> CONNECTION_ID()"
            ),
            Db::Sqlite(_) => format!("SELECT tethered_running({pattern})"),
        };
        let (count,): (i64,) = on_pool!(self, pool => pool.fetch_one(ctx, running).await)?;
        Ok(count)
    }

    /// Asks the server, again and again, until the count of running statements tagged
    /// `marker` satisfies `wanted`; returns how long that took, or `None` if it still did
    /// not after `limit`.
    ///
    /// Cancel safe: it only reads.
    pub async fn wait_until(
        &self,
        ctx: &Ctx,
        marker: &str,
        wanted: impl Fn(i64) -> bool,
        limit: Duration,
    ) -> Result<Option<Duration>> {
        let started = Instant::now();
        loop {
            if wanted(self.count_running(ctx, marker).await?) {
                return Ok(Some(started.elapsed()));
            }
            if started.elapsed() > limit {
                return Ok(None);
            }
            // A millisecond apart: precise enough, and kind to a shared machine.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
