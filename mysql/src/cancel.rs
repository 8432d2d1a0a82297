//! Stopping a connection's statement with `KILL QUERY <connection id>`, sent over a
//! connection of its own.
//!
//! Kill lines are persistent connections per driver, outside the pool, so a cancel works
//! while every pooled connection is busy and costs one round trip. Each request takes a
//! line of its own: kills run in parallel, and one that the server holds (MariaDB can hold
//! a `KILL QUERY` for seconds while several `SLEEP()` run) delays no other. `KILL QUERY`
//! returns once the server has set the target's kill flag: when it completes, nothing of
//! the request is still on its way. What the flag does next is the statement's to tell
//! (error 1317 if it stopped the statement), and a flag that reaches an idle connection is
//! cleared when its next statement starts (see the crate docs for the experiments).

use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IoError, Opts};
use tethered_core::{Canceller, Error, Result};

use crate::error::connect_error;

/// Idle kill lines kept for the next requests; a burst of simultaneous kills opens more,
/// closed again after use.
const IDLE_LINES: usize = 4;

/// How many new lines a kill opens to reach the server its target is on, before it gives
/// up (behind a load balancer, each may land on another server).
const LINE_ATTEMPTS: usize = 4;

/// Which server a session is on, as the server says itself (host name, port, server id):
/// a `KILL QUERY <id>` sent from a session on another server (another backend of a load
/// balancer, another address of the name) would stop whatever runs there under that id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerIdentity(Arc<str>);

impl ServerIdentity {
    /// The select-list expression that reads it.
    pub(crate) const EXPRESSION: &str = "CONCAT_WS(':', @@hostname, @@port, @@server_id)";

    pub(crate) fn new(said: String) -> ServerIdentity {
        ServerIdentity(said.into())
    }

    async fn of(conn: &mut Conn) -> mysql_async::Result<ServerIdentity> {
        let said: Option<String> = conn
            .query_first(format!("SELECT {}", ServerIdentity::EXPRESSION))
            .await?;
        Ok(ServerIdentity::new(said.unwrap_or_default()))
    }
}

impl std::fmt::Display for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One kill line, and the server it is on.
struct KillLine {
    server: ServerIdentity,
    conn: Conn,
}

/// The connections kill requests travel on: opened on need, kept idle for the next
/// request, reopened when the server has closed them.
pub(crate) struct KillLines {
    opts: Opts,
    /// Idle lines. A line is taken out for one request and put back only once that request
    /// has completed: a request abandoned half-way takes its line with it, so no reply of
    /// it can be read later. The lock is never held across an await.
    idle: Mutex<Vec<KillLine>>,
}

impl std::fmt::Debug for KillLines {
    // Not derived: the options and mysql_async's `Conn` would print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KillLines")
            .field("idle", &self.idle().len())
            .finish_non_exhaustive()
    }
}

impl KillLines {
    pub(crate) fn new(opts: Opts) -> KillLines {
        KillLines {
            opts,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<KillLine>> {
        // A list of connections stays consistent whatever panicked while holding it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An idle line to `server`, if there is one.
    fn take_idle(&self, server: &ServerIdentity) -> Option<KillLine> {
        let mut idle = self.idle();
        let index = idle.iter().rposition(|line| line.server == *server)?;
        Some(idle.swap_remove(index))
    }

    /// Makes sure a line to `server` is open, so the first cancel of a connection there
    /// need not connect (and a server out of connections is found at connect, not at
    /// cancel). Kills in flight meanwhile never wait for it: they take lines of their own.
    ///
    /// Cancel safe: dropped, the lines stay as they were.
    pub(crate) async fn open(&self, server: &ServerIdentity) -> Result<()> {
        if self.idle().iter().any(|line| line.server == *server) {
            return Ok(());
        }
        let line = self.line_to(server).await?;
        self.put_back(line);
        Ok(())
    }

    /// A new line to `server`; lines that land on another server are kept for it.
    async fn line_to(&self, server: &ServerIdentity) -> Result<KillLine> {
        for _ in 0..LINE_ATTEMPTS {
            let mut conn = Conn::new(self.opts.clone()).await.map_err(connect_error)?;
            let line = KillLine {
                server: ServerIdentity::of(&mut conn).await.map_err(connect_error)?,
                conn,
            };
            if line.server == *server {
                return Ok(line);
            }
            self.put_back(line);
        }
        Err(Error::connection(
            format!(
                "could not open a kill line to {server}, the server the connection is on: \
                 {LINE_ATTEMPTS} lines in a row landed on other servers"
            ),
            None,
        ))
    }

    fn put_back(&self, line: KillLine) {
        if line.conn.is_disconnected() {
            return;
        }
        let mut idle = self.idle();
        if idle.len() < IDLE_LINES {
            idle.push(line);
        }
    }

    /// Asks for a stop while an earlier `KILL QUERY <connection_id>` of the same stop is
    /// still unanswered, over a new line to `server` (an idle one may sit on the same
    /// frozen path as the unanswered kill).
    ///
    /// If the earlier kill is on the server, in its processlist, nothing is sent: MariaDB's
    /// `KILL` waits up to 2 s for a statement that holds the mutex it needs (THD::awake
    /// tries it 40 times, 50 ms apart, holding the target's own lock), and a second `KILL`
    /// of the same session queues behind the first and then holds the session up for
    /// another 2 s: each kill sent beside another made a sleeping statement outlive its
    /// stop by 2 s more. Only a kill the server never received (lost on the way) is sent
    /// again.
    async fn kill_beside(&self, connection_id: u32, server: &ServerIdentity) -> Result<()> {
        let mut line = self.line_to(server).await?;
        let kill = format!("KILL QUERY {connection_id}");
        // `SHOW PROCESSLIST`, not `information_schema.PROCESSLIST`: MariaDB 10.11.19 has
        // crashed (signal 11 in `ha_maria::drop_table`, freeing the internal temporary table
        // such a query fills), prepared and as text alike. `SHOW` sends its rows without one.
        let processes: Vec<mysql_async::Row> = line
            .conn
            .query("SHOW FULL PROCESSLIST")
            .await
            .map_err(kill_error)?;
        let on_the_server = processes.iter().any(|process| {
            let command = process.get_opt::<String, _>(4).and_then(|value| value.ok());
            let info = process.get_opt::<String, _>(7).and_then(|value| value.ok());
            command.as_deref() == Some("Query") && info.as_deref() == Some(kill.as_str())
        });
        let killed = if on_the_server {
            Ok(())
        } else {
            line.conn.query_drop(&kill).await
        };
        self.put_back(line);
        killed.map_err(kill_error)
    }

    /// Sends `KILL QUERY <connection_id>` on a line of its own to `server`, and waits for
    /// the server's answer.
    async fn kill_query(&self, connection_id: u32, server: &ServerIdentity) -> Result<()> {
        let kill = format!("KILL QUERY {connection_id}");
        if let Some(mut line) = self.take_idle(server) {
            match line.conn.query_drop(&kill).await {
                Ok(()) => {
                    self.put_back(line);
                    return Ok(());
                }
                // The server had closed the line (it idled past wait_timeout, or was
                // killed): a request it never read can never run, so it is safe to send
                // it again on a new line.
                Err(mysql_async::Error::Io(IoError::Io(error))) if closed_by_server(&error) => {}
                Err(error) => {
                    self.put_back(line);
                    return Err(kill_error(error));
                }
            }
        }
        let mut line = self.line_to(server).await?;
        let killed = line.conn.query_drop(&kill).await;
        self.put_back(line);
        killed.map_err(kill_error)
    }
}

fn closed_by_server(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
    )
}

fn kill_error(error: mysql_async::Error) -> Error {
    Error::connection(
        format!("could not send KILL QUERY: {error}"),
        Some(error.into()),
    )
}

/// Stops one connection's running statement with `KILL QUERY`, over the driver's kill lines.
#[derive(Clone, Debug)]
pub struct MyCanceller {
    connection_id: u32,
    server: ServerIdentity,
    lines: Arc<KillLines>,
    requests: Arc<AtomicU64>,
    /// This stop's kills still unanswered: the stop of one statement (a canceller is made
    /// per statement).
    unanswered: Arc<AtomicUsize>,
}

impl MyCanceller {
    /// `requests` counts the cancels asked for on the connection, which it reads between
    /// the commands of one statement.
    pub(crate) fn new(
        connection_id: u32,
        server: ServerIdentity,
        lines: Arc<KillLines>,
        requests: Arc<AtomicU64>,
    ) -> MyCanceller {
        MyCanceller {
            connection_id,
            server,
            lines,
            requests,
            unanswered: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Counts a kill as unanswered while it lives.
struct Unanswered<'c>(&'c AtomicUsize);

impl Unanswered<'_> {
    /// Counts one more; says whether others were unanswered already.
    fn count(unanswered: &AtomicUsize) -> (Unanswered<'_>, bool) {
        let others = unanswered.fetch_add(1, Ordering::SeqCst) > 0;
        (Unanswered(unanswered), others)
    }
}

impl Drop for Unanswered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Canceller for MyCanceller {
    /// Completes once the server has answered `KILL QUERY`, by which time the target's
    /// kill flag is set. Whether the statement stopped is told by the statement itself: it
    /// ends with error 1317.
    async fn cancel(&self) -> Result<()> {
        // Counted first: a statement between its prepare and its execute sees it and does
        // not execute, since the kill lands on an idle connection and is cleared.
        self.requests.fetch_add(1, Ordering::SeqCst);
        let (_unanswered, beside_another) = Unanswered::count(&self.unanswered);
        if beside_another {
            self.lines
                .kill_beside(self.connection_id, &self.server)
                .await
        } else {
            self.lines
                .kill_query(self.connection_id, &self.server)
                .await
        }
    }
}
