//! The database server's own view of what is running (`pg_stat_activity`,
//! `information_schema.PROCESSLIST`), read over a connection of its own: what the server
//! does, not what the client believes. Shared by `cancel_demo` and the HTTP end-to-end
//! tests.

use std::time::{Duration, Instant};

use tethered::{Ctx, Executor, Result, Sql};

use super::backend::{Db, on_pool};

impl Db {
    /// How many statements whose text contains `marker` are running on the server, other
    /// than this one.
    pub async fn count_running(&self, ctx: &Ctx, marker: &str) -> Result<i64> {
        let text = match self {
            Db::Postgres(_) => {
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()"
            }
            Db::Mysql(_) => {
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST \
                 WHERE INFO LIKE ? AND ID <> CONNECTION_ID()"
            }
        };
        // The marker travels as a bound value, so this statement's own text never
        // contains it.
        let running = Sql::new(text).bind(format!("%{marker}%"));
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
