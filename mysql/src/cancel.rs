//! Stopping a connection's statement with `KILL QUERY <connection id>`, sent over a
//! connection of its own.
//!
//! The kill line is one persistent connection per driver, outside the pool, so a cancel
//! works while every pooled connection is busy and costs one round trip. `KILL QUERY`
//! returns once the server has set the target's kill flag: when it completes, nothing of
//! the request is still on its way. What the flag does next is the statement's to tell
//! (error 1317 if it stopped the statement), and a flag that reaches an idle connection is
//! cleared when its next statement starts (see the crate docs for the experiments).

use std::io::ErrorKind;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, IoError, Opts};
use tethered_core::{Canceller, Error, Result};
use tokio::sync::Mutex;

use crate::error::connect_error;

/// The connection kill requests travel on, opened on first need and reopened when the
/// server has closed it.
#[derive(Debug)]
pub(crate) struct KillLine {
    opts: Opts,
    /// Empty until opened, and while a request on it is in flight: a request abandoned
    /// half-way takes the connection with it, so no reply of it can be read later.
    conn: Mutex<Option<Conn>>,
}

impl KillLine {
    pub(crate) fn new(opts: Opts) -> KillLine {
        KillLine {
            opts,
            conn: Mutex::new(None),
        }
    }

    /// Opens the line now unless it is open, so the first cancel need not connect (and a
    /// server out of connections is found at connect, not at cancel).
    ///
    /// Cancel safe: dropped, the line stays as it was or closed.
    pub(crate) async fn open(&self) -> Result<()> {
        let mut line = self.conn.lock().await;
        if line.is_none() {
            *line = Some(self.connect().await?);
        }
        Ok(())
    }

    async fn connect(&self) -> Result<Conn> {
        Conn::new(self.opts.clone()).await.map_err(connect_error)
    }

    /// Sends `KILL QUERY <connection_id>` and waits for the server's answer.
    async fn kill_query(&self, connection_id: u32) -> Result<()> {
        let kill = format!("KILL QUERY {connection_id}");
        let mut line = self.conn.lock().await;
        if let Some(mut conn) = line.take() {
            match conn.query_drop(&kill).await {
                Ok(()) => {
                    *line = Some(conn);
                    return Ok(());
                }
                // The server had closed the line (it idled past wait_timeout, or was
                // killed): a request it never read can never run, so it is safe to send
                // it again on a new line.
                Err(mysql_async::Error::Io(IoError::Io(error))) if closed_by_server(&error) => {}
                Err(error) => {
                    if !conn.is_disconnected() {
                        *line = Some(conn);
                    }
                    return Err(kill_error(error));
                }
            }
        }
        let mut conn = self.connect().await?;
        let killed = conn.query_drop(&kill).await;
        if !conn.is_disconnected() {
            *line = Some(conn);
        }
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

/// Stops one connection's running statement with `KILL QUERY`, over the driver's kill line.
#[derive(Clone, Debug)]
pub struct MyCanceller {
    connection_id: u32,
    line: Arc<KillLine>,
    requests: Arc<AtomicU64>,
}

impl MyCanceller {
    /// `requests` counts the cancels asked for on the connection, which it reads between
    /// the commands of one statement.
    pub(crate) fn new(
        connection_id: u32,
        line: Arc<KillLine>,
        requests: Arc<AtomicU64>,
    ) -> MyCanceller {
        MyCanceller {
            connection_id,
            line,
            requests,
        }
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
        self.line.kill_query(self.connection_id).await
    }
}
