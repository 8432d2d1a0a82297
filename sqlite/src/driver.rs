//! The SQLite driver: which database file, how each connection is set up, and the thread
//! each connection runs on.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rusqlite::OpenFlags;
use rusqlite::functions::FunctionFlags;
use tethered_core::{Ctx, Driver, Endpoint, Error, Pool, PoolOptions, Result};
use tokio::sync::oneshot;

use crate::cancel::{Gate, PROGRESS_OPS};
use crate::connection::{SqliteConnection, Worker};
use crate::error::connect_error;

/// How long a statement waits for another connection's lock by default (and never past its
/// context's deadline).
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of SQLite connections.
pub type SqlitePool = Pool<Sqlite>;

/// Run on each new connection's thread before it is handed out (to register functions,
/// set pragmas): see [`Sqlite::on_open`].
pub type OnOpen = Arc<dyn Fn(&rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync>;

/// Opens a pool for `url` and checks, under `ctx`, that the database opens.
///
/// `url` is `sqlite://path/to/file.db` (relative to the working directory;
/// `sqlite:///abs/path.db` for an absolute path), with an optional `?mode=rwc` (read,
/// write, create: the default), `?mode=rw` (the file must exist) or `?mode=ro` (read
/// only); or `sqlite::memory:`, an in-memory database that every connection of the pool
/// shares (see [`Sqlite::memory`]).
///
/// Cancel safe: dropped, the connection being opened is closed on its thread.
pub async fn connect(ctx: &Ctx, url: &str, options: PoolOptions) -> Result<SqlitePool> {
    let pool = Pool::new(Sqlite::from_url(url)?, options)?;
    drop(pool.acquire(ctx).await?);
    Ok(pool)
}

/// Where the database is.
#[derive(Clone, Debug)]
enum Target {
    File {
        path: PathBuf,
        flags: OpenFlags,
    },
    /// A named database of SQLite's `memdb` VFS, shared by the driver's connections, kept
    /// alive by `keeper` while the driver lives.
    Memory {
        uri: String,
        _keeper: Arc<Mutex<rusqlite::Connection>>,
    },
}

/// The SQLite driver: a database file (or a shared in-memory database) and how each
/// connection to it is set up.
///
/// Each connection runs on an OS thread of its own. A file database is put in WAL mode
/// (readers do not wait for a writer) with `synchronous = NORMAL`, and every connection has
/// `foreign_keys = ON`. A statement waits for another connection's write lock at most the
/// busy timeout ([`DEFAULT_BUSY_TIMEOUT`], [`Sqlite::busy_timeout`]) and never past its
/// context's deadline; a stop request ends the wait at once.
#[derive(Clone)]
pub struct Sqlite {
    target: Target,
    busy_timeout: Duration,
    on_open: Option<OnOpen>,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("target", &self.target)
            .field("busy_timeout", &self.busy_timeout)
            .finish_non_exhaustive()
    }
}

impl Sqlite {
    /// A driver for `url` (see [`connect`]). A malformed URL is [`Error::InvalidInput`].
    pub fn from_url(url: &str) -> Result<Sqlite> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Sqlite::memory();
        }
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "not an SQLite URL: {url:?} (expected sqlite://path/to/file.db or \
                     sqlite::memory:)"
                ))
            })?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(Error::InvalidInput(format!(
                "not an SQLite URL: {url:?} names no file"
            )));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("mode", "rwc")) => {}
                Some(("mode", "rw")) => flags = OpenFlags::SQLITE_OPEN_READ_WRITE,
                Some(("mode", "ro")) => flags = OpenFlags::SQLITE_OPEN_READ_ONLY,
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "unknown SQLite URL option {pair:?} (known: mode=rwc|rw|ro)"
                    )));
                }
            }
        }
        Ok(Sqlite::file(path, flags))
    }

    /// A driver for the database file at `path`, opened with `flags` (no mutex flags are
    /// needed: each connection is used by its own thread only).
    pub fn file(path: impl Into<PathBuf>, flags: OpenFlags) -> Sqlite {
        Sqlite {
            target: Target::File {
                path: path.into(),
                flags: flags | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            },
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            on_open: None,
        }
    }

    /// A driver for a new in-memory database of its own, shared by every connection it
    /// opens (SQLite's `memdb` VFS, under a name unique in the process), and kept for as
    /// long as the driver (or a clone of it, or a pool on it) lives. Not WAL: a writer
    /// holds off the readers for the time of its write.
    pub fn memory() -> Result<Sqlite> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let uri = format!(
            "file:/tethered-memory-{}-{}?vfs=memdb",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let keeper = rusqlite::Connection::open_with_flags(&uri, memory_flags())
            .map_err(|error| connect_error(&uri, error))?;
        Ok(Sqlite {
            target: Target::Memory {
                uri,
                _keeper: Arc::new(Mutex::new(keeper)),
            },
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            on_open: None,
        })
    }

    /// How long a statement waits for another connection's lock at most; its context's
    /// deadline bounds the wait too.
    pub fn busy_timeout(mut self, timeout: Duration) -> Sqlite {
        self.busy_timeout = timeout;
        self
    }

    /// Runs `setup` on every new connection, on its thread, before the connection is handed
    /// out: to register SQL functions (`create_scalar_function`), collations, or set
    /// pragmas. An error fails the connect.
    pub fn on_open(
        mut self,
        setup: impl Fn(&rusqlite::Connection) -> rusqlite::Result<()> + Send + Sync + 'static,
    ) -> Sqlite {
        self.on_open = Some(Arc::new(setup));
        self
    }

    fn describe(&self) -> String {
        match &self.target {
            Target::File { path, .. } => path.display().to_string(),
            Target::Memory { uri, .. } => uri.clone(),
        }
    }

    /// Opens and sets up one connection (on the calling thread, which becomes its own).
    fn open(&self, gate: &Arc<Gate>) -> rusqlite::Result<rusqlite::Connection> {
        let mut conn = match &self.target {
            Target::File { path, flags } => rusqlite::Connection::open_with_flags(path, *flags)?,
            Target::Memory { uri, .. } => {
                rusqlite::Connection::open_with_flags(uri, memory_flags())?
            }
        };
        // The set-up waits for a lock like any statement; the gate's handler replaces this
        // below.
        conn.busy_timeout(self.busy_timeout)?;
        if let Target::File { flags, .. } = &self.target
            && !flags.contains(OpenFlags::SQLITE_OPEN_READ_ONLY)
        {
            switch_to_wal(&conn, Instant::now() + self.busy_timeout)?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        let progress = Arc::clone(gate);
        conn.progress_handler(PROGRESS_OPS, Some(move || progress.should_stop()))?;
        let busy = Arc::clone(gate);
        conn.busy_handler(Some(move |count| busy.keep_waiting(count)))?;
        let sleeper = Arc::clone(gate);
        conn.create_scalar_function(
            "tethered_sleep",
            1,
            FunctionFlags::SQLITE_UTF8,
            move |call| {
                let seconds: f64 = call.get(0)?;
                let total = Duration::try_from_secs_f64(seconds.max(0.0))
                    .map_err(|error| rusqlite::Error::UserFunctionError(error.into()))?;
                if sleeper.sleep(total) {
                    Ok(0_i64)
                } else {
                    Err(rusqlite::Error::UserFunctionError(
                        "the sleep was stopped".into(),
                    ))
                }
            },
        )?;
        if let Some(setup) = &self.on_open {
            setup(&conn)?;
        }
        gate.set_handle(conn.get_interrupt_handle());
        Ok(conn)
    }
}

/// Puts the database in WAL mode, waiting up to `until` for the other connections.
///
/// Connections opened at once on a new file contend for the switch: each reads the header
/// under a shared lock and then needs the exclusive one, and SQLite answers the loser
/// `SQLITE_BUSY` at once, without calling the busy handler (waiting could deadlock two
/// readers that both want to write). So the switch itself is tried again; once the file is
/// in WAL mode the pragma takes no lock at all.
fn switch_to_wal(conn: &rusqlite::Connection, until: Instant) -> rusqlite::Result<()> {
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(error)
                if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && Instant::now() + pause < until =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            done => return done,
        }
    }
}

fn memory_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

impl Driver for Sqlite {
    type Connection = SqliteConnection;
    type QueryBuilder = tethered_core::sea_query::SqliteQueryBuilder;
    // SQLite has it since 3.35; the bundled one is newer.
    const INSERT_RETURNING: bool = true;
    // SQLITE_MAX_VARIABLE_NUMBER's default since 3.32, which the bundled build keeps.
    const MAX_PARAMETERS: usize = 32_766;
    // An interrupted COMMIT may leave the transaction open (it is then rolled back by the
    // ROLLBACK that follows) or have committed; it is not documented to roll back.
    const STOPPED_COMMIT_ROLLS_BACK: bool = false;

    /// `sqlite`, and the database file's path (or the in-memory database's name).
    fn endpoint(&self) -> Endpoint {
        let namespace = match &self.target {
            Target::File { path, .. } => path.to_string_lossy().into(),
            Target::Memory { uri, .. } => uri.as_str().into(),
        };
        Endpoint {
            namespace: Some(namespace),
            ..Endpoint::new("sqlite")
        }
    }

    async fn connect(&self, _: &Ctx) -> Result<SqliteConnection> {
        let driver = self.clone();
        let (opened, answer) = oneshot::channel();
        std::thread::Builder::new()
            .name("tethered-sqlite".into())
            .spawn(move || {
                let gate = Arc::new(Gate::new());
                let conn = match driver.open(&gate) {
                    Ok(conn) => conn,
                    Err(error) => {
                        let _ = opened.send(Err(connect_error(&driver.describe(), error)));
                        return;
                    }
                };
                let (jobs, queue) = mpsc::channel();
                let connection = SqliteConnection::new(jobs, Arc::clone(&gate));
                // Nobody waiting (the connect was dropped): the handle drops, the queue
                // closes and the thread ends.
                if opened.send(Ok(connection)).is_ok() {
                    Worker::new(conn, gate, driver.busy_timeout).run(queue);
                }
            })
            .map_err(|error| {
                Error::connection("could not start a connection thread", Some(error.into()))
            })?;
        answer.await.unwrap_or_else(|_| {
            Err(Error::connection(
                "the connection's thread ended while opening the database",
                None,
            ))
        })
    }
}
