//! The benchmark's sqlx-sqlite contestant, in a process of its own (sqlx-sqlite and
//! tethered's SQLite cannot be linked into one build: bench/README.md). tethered-bench starts
//! it (`bench/src/sqlx_sqlite.rs`) and talks to it over stdin and stdout, one JSON message a
//! line (`sqlx_sqlite_protocol.rs`); it exits when its input ends.
//!
//! It runs the bench's own code, not a copy: the sqlx contestant of the servers
//! (`sqlx_operations.rs`), the round loop and its timing (`plan.rs`, `measure.rs`), and the
//! engine view's counter functions (`sqlite_view.rs`), registered on each of sqlx's
//! connections so the bench can watch sqlx's statements as it watches its own.

#[path = "../../src/measure.rs"]
#[allow(dead_code)] // The statistics are the bench's; the child only reads the CPU clock.
mod measure;
#[path = "../../src/plan.rs"]
mod plan;
#[path = "../../../examples/common/sqlite_view.rs"]
mod sqlite_view;
#[path = "../../src/sqlx_operations.rs"]
mod sqlx_operations;
#[path = "../../src/sqlx_sqlite_protocol.rs"]
mod sqlx_sqlite_protocol;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::task::AbortHandle;

use plan::{ItemRow, Operations, Result, Statements};
use sqlx_operations::{Sqlx, pool_options};
use sqlx_sqlite_protocol::{Answer, Message, Request};

/// A row of the benchmark's tables, decoded by sqlx's derive (the bench's own `Item` also
/// derives tethered's model, which cannot be built here).
#[derive(sqlx::FromRow, Serialize, Deserialize, Debug)]
struct Item {
    id: i64,
    name: String,
    n: i64,
}

impl ItemRow for Item {
    fn id(&self) -> i64 {
        self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn n(&self) -> i64 {
        self.n
    }
}

/// What the child holds between requests.
struct Child {
    /// The contestant, once opened.
    sqlx: OnceLock<Arc<Sqlx<Sqlite, Item>>>,
    /// The long statements running, by request id, to abandon.
    long: Mutex<HashMap<u64, AbortHandle>>,
    /// Answers, one line each.
    answers: tokio::sync::Mutex<tokio::io::Stdout>,
}

fn main() -> ExitCode {
    // Two workers, as the bench's own runtime has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sqlx-sqlite child: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Answers requests until the input ends.
async fn serve() -> Result<()> {
    let child = Arc::new(Child {
        sqlx: OnceLock::new(),
        long: Mutex::default(),
        answers: tokio::sync::Mutex::new(tokio::io::stdout()),
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let Message { id, body } = serde_json::from_str::<Message<Request<Item>>>(&line)
            .map_err(|error| format!("not a request ({error}): {line}"))?;
        match body {
            Request::Abandon(long) => {
                let running = child
                    .long
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&long);
                if let Some(running) = running {
                    running.abort();
                }
            }
            Request::Long(sql) => {
                let sql: &'static str = sql.leak();
                let sqlx = contestant(&child).map(Arc::clone);
                let work = async move {
                    sqlx?.execute(sql).await?;
                    Ok(Answer::Done)
                };
                // Held while spawning, so the task's own removal, when it ends, comes after.
                let mut long = child.long.lock().unwrap_or_else(PoisonError::into_inner);
                let task = tokio::spawn(answer(Arc::clone(&child), id, work));
                long.insert(id, task.abort_handle());
            }
            request => {
                tokio::spawn(answer(
                    Arc::clone(&child),
                    id,
                    handle(Arc::clone(&child), request),
                ));
            }
        }
    }
    Ok(())
}

/// Runs `work` and writes its answer (or its error) for request `id`.
async fn answer(child: Arc<Child>, id: u64, work: impl Future<Output = Result<Answer<Item>>>) {
    let body = work
        .await
        .unwrap_or_else(|error| Answer::Failed(error.to_string()));
    child
        .long
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    let mut line = serde_json::to_string(&Message { id, body }).expect("answers serialize");
    line.push('\n');
    let mut answers = child.answers.lock().await;
    // The bench gone means this process is about to be told so by its input's end.
    let _ = answers.write_all(line.as_bytes()).await;
    let _ = answers.flush().await;
}

/// The opened contestant.
fn contestant(child: &Child) -> Result<&Arc<Sqlx<Sqlite, Item>>> {
    child.sqlx.get().ok_or_else(|| "not opened yet".into())
}

/// Answers one request.
async fn handle(child: Arc<Child>, request: Request<Item>) -> Result<Answer<Item>> {
    Ok(match request {
        Request::Open {
            path,
            connections,
            busy_timeout,
            point_select,
            select_range,
            insert,
        } => {
            let statements = Statements {
                point_select: point_select.leak(),
                select_range: select_range.leak(),
                insert: insert.leak(),
            };
            let pool = open(path, connections, busy_timeout).await?;
            let opened = Arc::new(Sqlx::new(pool, statements));
            child.sqlx.set(opened).map_err(|_| "opened twice")?;
            Answer::Done
        }
        Request::Round(plan) => Answer::Ran(plan::run_timed(contestant(&child)?, plan).await?),
        Request::PointSelect(id) => Answer::Row(contestant(&child)?.point_select(id).await?),
        Request::InsertInTransaction(items) => {
            contestant(&child)?.insert_in_transaction(&items).await?;
            Answer::Done
        }
        Request::SelectRange(first, last) => {
            Answer::Rows(contestant(&child)?.select_range(first, last).await?)
        }
        Request::StreamRange(first, last) => {
            Answer::Count(contestant(&child)?.stream_range(first, last).await?)
        }
        Request::Running(pattern) => Answer::Count(sqlite_view::running(&pattern).len() as u64),
        Request::QuietFor(pattern) => Answer::Quiet(sqlite_view::quiet_for(&pattern)),
        Request::Long(_) | Request::Abandon(_) => {
            return Err("long statements are handled as they arrive".into());
        }
    })
}

/// sqlx's pool on the file at `path`, its connections set up as tethered-sqlite sets up its
/// own (WAL, `synchronous = NORMAL`, foreign keys, the busy timeout, a 64-statement cache)
/// and given the engine view's functions.
async fn open(path: PathBuf, connections: usize, busy_timeout: Duration) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(busy_timeout)
        .statement_cache_capacity(64);
    let pool = pool_options::<Sqlite>(connections)?
        .after_connect(|conn, _| Box::pin(install_view(conn)))
        .connect_with(options)
        .await?;
    Ok(pool)
}

/// Registers the engine view's functions on `conn`, through rusqlite on sqlx's own handle.
async fn install_view(conn: &mut SqliteConnection) -> std::result::Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let raw = handle.as_raw_handle();
    // SAFETY: the handle is valid and locked away from sqlx's worker thread while `handle`
    // lives; the rusqlite connection made from it does not own it (it never closes it) and
    // is dropped first. The functions it registers belong to the SQLite connection.
    #[allow(unsafe_code)]
    let view = unsafe { rusqlite::Connection::from_handle(raw.as_ptr()) }
        .map_err(|error| sqlx::Error::Configuration(Box::new(error)))?;
    sqlite_view::install(&view).map_err(|error| sqlx::Error::Configuration(Box::new(error)))
}
