//! The database server's own view of what is running (`pg_stat_activity`,
//! MariaDB's `SHOW FULL PROCESSLIST`; on SQLite, which has none, the engine's counters of
//! `sqlite_view.rs`, ticked by the statement itself), read over a connection of its own:
//! what the database does, not what the client believes. Shared by `cancel_demo` and the
//! HTTP end-to-end tests.

use std::time::{Duration, Instant};

use tethered::{Ctx, Executor, Result};

use super::backend::{Db, on_pool};

/// A row of MariaDB's `SHOW FULL PROCESSLIST`: the statement a session runs, if any.
#[derive(tethered::FromRow)]
struct Session {
    #[tethered(rename = "Info")]
    info: Option<String>,
}

impl Db {
    /// How many statements whose text contains `marker` are running on the server, other
    /// than this one; on SQLite, how many statements ticking a label that contains `marker`
    /// ticked within the last `sqlite_view::STILL`.
    pub async fn count_running(&self, ctx: &Ctx, marker: &str) -> Result<i64> {
        // The pattern in the text, split so that this statement's own text never holds
        // the marker whole.
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
            // Not `information_schema.PROCESSLIST`: MariaDB 10.11.19 has crashed (signal 11
            // in `ha_maria::drop_table`, freeing the internal temporary table such a query
            // fills) under polls like these. `SHOW PROCESSLIST` sends its rows without one.
            Db::Mysql(pool) => {
                let sessions: Vec<Session> = pool.fetch_all(ctx, "SHOW FULL PROCESSLIST").await?;
                let running = sessions.iter().filter(|session| {
                    session
                        .info
                        .as_deref()
                        .is_some_and(|info| info.contains(marker))
                });
                return Ok(i64::try_from(running.count()).unwrap_or(i64::MAX));
            }
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
