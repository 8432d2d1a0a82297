//! Raw rusqlite (the same bundled build tethered links): each connection on a thread of its
//! own, as tethered-sqlite runs it, since a `Connection` is `Send` but not `Sync` and its
//! calls block. A statement is a job sent to that thread over a channel, its answer comes
//! back over a oneshot; statements are prepared once per connection (rusqlite's statement
//! cache) and rows decoded by hand.
//!
//! Nothing interrupts a job: a dropped future discards the answer, and the thread runs the
//! statement to its end, the next job queued behind it (what the cancellation workload
//! shows).

use std::path::Path;
use std::sync::mpsc;

use tethered::Ctx;
use tethered::sqlite::rusqlite::{self, Connection, OpenFlags, Row};
use tokio::sync::oneshot;

use crate::contestant::{BoxError, Contestant, Item, Operations, Result, Statements, Streamed};
use crate::raw_pool::RawPool;

/// Rows per batch from a connection's thread to a stream's reader (tethered-sqlite's).
const BATCH: usize = 32;

/// Batches on their way at most (tethered-sqlite's).
const BATCHES_IN_FLIGHT: usize = 2;

/// Work for a connection's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A connection on its thread: the sending end of its job queue.
struct Session {
    jobs: mpsc::Sender<Job>,
}

impl Session {
    /// Opens `path` (set up by `setup`) and starts the connection's thread.
    fn open(path: &Path, setup: fn(&Connection) -> rusqlite::Result<()>) -> Result<Session> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags)?;
        setup(&conn)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("raw-sqlite".into())
            .spawn(move || {
                for job in queue {
                    job(&mut conn);
                }
            })?;
        Ok(Session { jobs })
    }

    /// Runs `work` on the connection's thread and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |conn| {
                // The caller may have given up: then nobody wants the answer.
                let _ = reply.send(work(conn));
            }))
            .map_err(|_| "the connection's thread has ended")?;
        Ok(answer.await??)
    }
}

/// Raw rusqlite on a [`RawPool`] of connections on threads.
pub struct RawSqlite {
    pool: RawPool<Session>,
    statements: Statements,
}

impl RawSqlite {
    /// Opens `connections` connections to the database at `path`, each set up by `setup`.
    pub fn connect(
        path: &Path,
        setup: fn(&Connection) -> rusqlite::Result<()>,
        statements: Statements,
        connections: usize,
    ) -> Result<RawSqlite> {
        let sessions = (0..connections)
            .map(|_| Session::open(path, setup))
            .collect::<Result<_>>()?;
        Ok(RawSqlite {
            pool: RawPool::new(sessions),
            statements,
        })
    }
}

fn item(row: &Row<'_>) -> rusqlite::Result<Item> {
    Ok(Item {
        id: row.get(0)?,
        name: row.get(1)?,
        n: row.get(2)?,
    })
}

impl Operations for RawSqlite {
    type Item = Item;

    async fn point_select(&self, id: i64) -> Result<Item> {
        let sql = self.statements.point_select;
        let session = self.pool.checkout().await;
        session
            .run(move |conn| conn.prepare_cached(sql)?.query_row([id], item))
            .await
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        let sql = self.statements.insert;
        let session = self.pool.checkout().await;
        // A job per statement, as tethered and the async drivers send them: the
        // per-statement cost is what the workload compares.
        session.run(|conn| conn.execute_batch("BEGIN")).await?;
        for item in items {
            let Item { id, name, n } = item.clone();
            let inserted = session
                .run(move |conn| conn.prepare_cached(sql)?.execute((id, name, n)))
                .await;
            if let Err(error) = inserted {
                session.run(|conn| conn.execute_batch("ROLLBACK")).await?;
                return Err(error);
            }
        }
        session.run(|conn| conn.execute_batch("COMMIT")).await
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        let sql = self.statements.select_range;
        let session = self.pool.checkout().await;
        session
            .run(move |conn| {
                let mut statement = conn.prepare_cached(sql)?;
                statement.query_map([first, last], item)?.collect()
            })
            .await
    }

    /// The rows cross from the connection's thread in batches of at most [`BATCH`] over a
    /// channel of [`BATCHES_IN_FLIGHT`], sent when full or when the channel is empty, as
    /// tethered-sqlite's stream sends them.
    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let sql = self.statements.select_range;
        let session = self.pool.checkout().await;
        let (batches, mut arriving) = tokio::sync::mpsc::channel(BATCHES_IN_FLIGHT);
        let reading = session.run(move |conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let mut batch = Vec::with_capacity(BATCH);
            for item in statement.query_map([first, last], item)? {
                batch.push(item?);
                let reader_waits = batches.capacity() == batches.max_capacity();
                if batch.len() == BATCH || reader_waits {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // The reader gave up: the rest is not wanted.
                    if batches.blocking_send(full).is_err() {
                        return Ok(());
                    }
                }
            }
            if !batch.is_empty() {
                let _ = batches.blocking_send(batch);
            }
            Ok(())
        });
        let mut streamed = Streamed::starting_at(first);
        let taking = async {
            while let Some(batch) = arriving.recv().await {
                for item in &batch {
                    streamed.take(item)?;
                }
            }
            Ok::<_, BoxError>(())
        };
        let (read, taken) = tokio::join!(reading, taking);
        read?;
        taken?;
        Ok(streamed.count())
    }
}

impl Contestant for RawSqlite {
    const STOPS_WITH_CTX: bool = false;

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        let session = self.pool.checkout().await;
        session
            .run(move |conn| conn.query_row(sql, [], |_| Ok(())))
            .await
    }
}
