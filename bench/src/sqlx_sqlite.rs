//! sqlx on SQLite, in a process of its own: sqlx-sqlite links an older `libsqlite3-sys` than
//! rusqlite, tethered-sqlite's, and one build links one (bench/README.md). So it is a crate
//! with its own lock file, `bench/sqlx-sqlite`, built and started here (`cargo run`), which
//! runs the same `sqlx_operations.rs` and the same round loop (`plan.rs`) as sqlx does on the
//! servers. Rounds are sent whole and timed in the child (wall and the child's CPU), so the
//! pipe is never timed; single operations (the cancellation workload's next statement and
//! long statement) go over the pipe, a few tens of microseconds on figures in milliseconds.
//!
//! The child registers the engine view's counter functions (`sqlite_view.rs`) on sqlx's
//! connections, and answers for its markers: [`running`] and [`quiet_for`] ask every child,
//! so the observer sees sqlx's statements as it sees those of this process.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tethered::Ctx;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot};

use crate::contestant::{Contestant, Item, Operations, Result, Statements};
use crate::plan::{Plan, Ran};
use crate::sqlx_sqlite_protocol::{Answer, Message, Request};

/// The answers awaited, by request id.
type Waiting = Mutex<HashMap<u64, oneshot::Sender<Answer<Item>>>>;

/// A running child and the way to it.
struct Link {
    next_id: AtomicU64,
    /// Lines for the child's stdin, written in order by one task.
    outgoing: mpsc::UnboundedSender<String>,
    waiting: Arc<Waiting>,
    /// Killed when the link is dropped.
    _child: Child,
}

/// sqlx-sqlite, in its child process, on a pool of its own there.
pub struct SqlxSqlite {
    link: Arc<Link>,
}

/// Every child started, for the observer.
fn children() -> std::sync::MutexGuard<'static, Vec<Weak<Link>>> {
    static CHILDREN: Mutex<Vec<Weak<Link>>> = Mutex::new(Vec::new());
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Link {
    /// Builds (when needed) and starts the child; its build output and errors go to this
    /// process's stderr.
    fn start() -> Result<Link> {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/sqlx-sqlite/Cargo.toml");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = Command::new(cargo)
            .args([
                "run",
                "--release",
                "--quiet",
                "--locked",
                "--manifest-path",
                manifest,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("starting the sqlx-sqlite child ({manifest}): {error}"))?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err("the sqlx-sqlite child has no pipes".into());
        };
        let (outgoing, lines) = mpsc::unbounded_channel();
        let waiting = Arc::new(Waiting::default());
        tokio::spawn(write(stdin, lines));
        tokio::spawn(read(stdout, Arc::clone(&waiting)));
        Ok(Link {
            next_id: AtomicU64::new(1),
            outgoing,
            waiting,
            _child: child,
        })
    }

    /// Sends `request` and waits for its answer; an error if the child failed it.
    async fn call(&self, request: Request<Item>) -> Result<Answer<Item>> {
        let (_, answer) = self.send(request)?;
        answered(answer.await)
    }

    /// Sends `request`; the answer arrives on the receiver.
    fn send(&self, request: Request<Item>) -> Result<(u64, oneshot::Receiver<Answer<Item>>)> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, answer) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, sender);
        let line = serde_json::to_string(&Message { id, body: request })?;
        self.outgoing
            .send(line)
            .map_err(|_| "the sqlx-sqlite child is gone")?;
        Ok((id, answer))
    }
}

/// The answer, or the child's error, or the child's end.
fn answered(
    answer: std::result::Result<Answer<Item>, oneshot::error::RecvError>,
) -> Result<Answer<Item>> {
    match answer {
        Ok(Answer::Failed(error)) => Err(format!("sqlx-sqlite: {error}").into()),
        Ok(answer) => Ok(answer),
        Err(_) => Err("the sqlx-sqlite child exited (its error is above)".into()),
    }
}

/// Writes each line to the child's stdin; ends when the link is dropped (the child then
/// reads the end of its input and exits).
async fn write(mut stdin: ChildStdin, mut lines: mpsc::UnboundedReceiver<String>) {
    while let Some(mut line) = lines.recv().await {
        line.push('\n');
        if stdin.write_all(line.as_bytes()).await.is_err() || stdin.flush().await.is_err() {
            return;
        }
    }
}

/// Hands each answer to its waiter; when the child's output ends, every waiter is dropped
/// (its request fails: the child exited).
async fn read(stdout: ChildStdout, waiting: Arc<Waiting>) {
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Message<Answer<Item>>>(&line) else {
            eprintln!("sqlx-sqlite child: not an answer: {line}");
            break;
        };
        let waiter = waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&message.id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(message.body);
        }
    }
    waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clear();
}

impl SqlxSqlite {
    /// Starts a child with a pool of `connections` on the database file at `path`.
    pub async fn connect(
        path: &Path,
        busy_timeout: Duration,
        statements: Statements,
        connections: usize,
    ) -> Result<SqlxSqlite> {
        let link = Arc::new(Link::start()?);
        link.call(Request::Open {
            path: path.to_owned(),
            connections,
            busy_timeout,
            point_select: statements.point_select.to_owned(),
            select_range: statements.select_range.to_owned(),
            insert: statements.insert.to_owned(),
        })
        .await?;
        children().push(Arc::downgrade(&link));
        Ok(SqlxSqlite { link })
    }
}

/// An answer that was not the one asked for.
fn unexpected(answer: Answer<Item>) -> crate::contestant::BoxError {
    format!("sqlx-sqlite child: unexpected answer {answer:?}").into()
}

impl Operations for SqlxSqlite {
    type Item = Item;

    async fn point_select(&self, id: i64) -> Result<Item> {
        match self.link.call(Request::PointSelect(id)).await? {
            Answer::Row(item) => Ok(item),
            other => Err(unexpected(other)),
        }
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        match self
            .link
            .call(Request::InsertInTransaction(items.to_vec()))
            .await?
        {
            Answer::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        match self.link.call(Request::SelectRange(first, last)).await? {
            Answer::Rows(items) => Ok(items),
            other => Err(unexpected(other)),
        }
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        match self.link.call(Request::StreamRange(first, last)).await? {
            Answer::Count(rows) => Ok(rows),
            other => Err(unexpected(other)),
        }
    }
}

/// Abandons the child's long statement when the future waiting for it is dropped.
struct AbandonOnDrop<'a> {
    link: &'a Link,
    id: Option<u64>,
}

impl Drop for AbandonOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.link
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            // Fire and forget: the child drops sqlx's future, as a timeout would here.
            let _ = self.link.send(Request::Abandon(id));
        }
    }
}

impl Contestant for SqlxSqlite {
    const STOPS_WITH_CTX: bool = false;

    /// Sent whole and timed in the child.
    async fn round(this: &Arc<SqlxSqlite>, plan: Plan<Item>) -> Result<Ran> {
        match this.link.call(Request::Round(plan)).await? {
            Answer::Ran(ran) => Ok(ran),
            other => Err(unexpected(other)),
        }
    }

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        let (id, answer) = self.link.send(Request::Long(sql.to_owned()))?;
        let mut guard = AbandonOnDrop {
            link: &self.link,
            id: Some(id),
        };
        let answer = answered(answer.await);
        guard.id = None;
        match answer? {
            Answer::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }
}

/// The live children's links.
fn live_children() -> Vec<Arc<Link>> {
    let mut children = children();
    children.retain(|child| child.strong_count() > 0);
    children.iter().filter_map(Weak::upgrade).collect()
}

/// How many statements of the children whose marker matches `pattern` are running (their
/// counter ticked lately).
pub async fn running(pattern: &str) -> Result<u64> {
    let mut running = 0;
    for link in live_children() {
        match link.call(Request::Running(pattern.to_owned())).await? {
            Answer::Count(count) => running += count,
            other => return Err(unexpected(other)),
        }
    }
    Ok(running)
}

/// How long ago a statement of the children whose marker matches `pattern` last ticked
/// (`None`: none ever did).
pub async fn quiet_for(pattern: &str) -> Result<Option<Duration>> {
    let mut quiet: Option<Duration> = None;
    for link in live_children() {
        match link.call(Request::QuietFor(pattern.to_owned())).await? {
            Answer::Quiet(Some(child)) => quiet = Some(quiet.map_or(child, |q| q.min(child))),
            Answer::Quiet(None) => {}
            other => return Err(unexpected(other)),
        }
    }
    Ok(quiet)
}
