//! One MySQL/MariaDB connection: statements in the text or binary protocol, each carrying
//! the server-side limit derived from its context's deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Statement};
use tethered_core::sea_query::Values;
use tethered_core::{Connection, Ctx, Error, Executed, Result};

use crate::bind::params;
use crate::cancel::{KillLine, MyCanceller};
use crate::error::{interrupted_before_execution, statement_error};
use crate::flavour::Flavour;
use crate::row::MyRow;

/// An open connection, used by one statement at a time.
///
/// A statement with bound values is prepared once per distinct text and connection
/// (mysql_async's statement cache) and runs in the binary protocol; one without values is
/// sent as text, in one round trip (so `BEGIN`, `COMMIT` and statements MySQL cannot
/// prepare work as they are).
pub struct MyConnection {
    conn: Conn,
    flavour: Flavour,
    kill_line: Arc<KillLine>,
    /// Cancels asked for on this connection, shared with its cancellers.
    cancel_requests: Arc<AtomicU64>,
    /// Set once the connection failed as a connection: it is not used again.
    broken: bool,
}

impl std::fmt::Debug for MyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MyConnection")
            .field("id", &self.conn.id())
            .field("flavour", &self.flavour)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl MyConnection {
    pub(crate) fn new(conn: Conn, flavour: Flavour, kill_line: Arc<KillLine>) -> MyConnection {
        MyConnection {
            conn,
            flavour,
            kill_line,
            cancel_requests: Arc::new(AtomicU64::new(0)),
            broken: false,
        }
    }

    /// Maps a mysql_async outcome, and remembers a connection that failed as one.
    fn settle<T>(&mut self, result: mysql_async::Result<T>) -> Result<T> {
        result.map_err(|error| {
            let error = statement_error(error, self.flavour);
            if matches!(error, Error::Connection { .. }) {
                self.broken = true;
            }
            error
        })
    }

    /// The prepared statement for `sql` (from the cache, or prepared now), refusing a
    /// number of values its placeholders do not take before anything runs.
    ///
    /// Preparing takes a round trip of its own when the text is not cached. A kill sent
    /// meanwhile may find the connection idle between the two commands, where the server
    /// clears it as the execute starts: so a statement whose cancel was asked for while
    /// it was being prepared is not executed, and ends as if the server had interrupted it.
    async fn prepare(&mut self, sql: &str, values: usize) -> Result<Statement> {
        let cancels_before = self.cancel_requests.load(Ordering::SeqCst);
        let prepared = self.conn.prep(sql).await;
        let statement = self.settle(prepared)?;
        if self.cancel_requests.load(Ordering::SeqCst) != cancels_before {
            return Err(interrupted_before_execution());
        }
        let placeholders = usize::from(statement.num_params());
        if placeholders != values {
            return Err(Error::InvalidInput(format!(
                "the statement has {placeholders} placeholders but {values} values were bound"
            )));
        }
        Ok(statement)
    }
}

impl Connection for MyConnection {
    type Canceller = MyCanceller;
    type Row = MyRow;

    fn canceller(&self) -> MyCanceller {
        MyCanceller::new(
            self.conn.id(),
            Arc::clone(&self.kill_line),
            Arc::clone(&self.cancel_requests),
        )
    }

    fn is_closed(&self) -> bool {
        // mysql_async marks a connection disconnected when an exchange on it failed or
        // was abandoned half-way.
        self.broken || self.conn.is_disconnected()
    }

    async fn execute(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Executed> {
        let sql = self.flavour.limited(sql, ctx.remaining());
        let done = if values.0.is_empty() {
            self.conn.query_drop(&*sql).await
        } else {
            let params = params(values)?;
            let statement = self.prepare(&sql, values.0.len()).await?;
            self.conn.exec_drop(&statement, params).await
        };
        self.settle(done)?;
        Ok(Executed {
            rows_affected: self.conn.affected_rows(),
            last_insert_id: self.conn.last_insert_id(),
        })
    }

    async fn fetch_all(&mut self, ctx: &Ctx, sql: &str, values: &Values) -> Result<Vec<MyRow>> {
        let sql = self.flavour.limited(sql, ctx.remaining());
        let rows = if values.0.is_empty() {
            self.conn.query::<Row, _>(&*sql).await
        } else {
            let params = params(values)?;
            let statement = self.prepare(&sql, values.0.len()).await?;
            self.conn.exec::<Row, _, _>(&statement, params).await
        };
        Ok(self.settle(rows)?.into_iter().map(MyRow::new).collect())
    }
}
