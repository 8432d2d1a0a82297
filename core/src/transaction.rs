//! A transaction on one pooled connection, rolled back unless committed.

use std::time::Duration;

use crate::connection::PoolConnection;
use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Driver, Executed};
use crate::error::{Error, Result, StatementOutcome};
use crate::executor::Executor;
use crate::sql::Sql;
use crate::stream::RowStream;

/// A transaction: statements run in it through [`Executor`] (`&mut tx`), each under its
/// own `&Ctx`; [`Transaction::commit`] makes them permanent.
///
/// It is rolled back when it is dropped, when [`Transaction::rollback`] is called, or when
/// its context (the one given to `begin`) has ended by the time of the next statement or
/// the commit.
pub struct Transaction<D: Driver> {
    /// `None` once committed or rolled back.
    connection: Option<PoolConnection<D>>,
    ctx: Ctx,
    cleanup_budget: Duration,
}

impl<D: Driver> Transaction<D> {
    /// Sends `BEGIN` on `connection` under `ctx`, which becomes the transaction's context.
    pub(crate) async fn begin(
        mut connection: PoolConnection<D>,
        ctx: &Ctx,
    ) -> Result<Transaction<D>> {
        connection.execute(ctx, "BEGIN").await?;
        Ok(Transaction {
            cleanup_budget: connection.cancel_grace(),
            connection: Some(connection),
            ctx: ctx.clone(),
        })
    }

    /// Commits under `ctx`.
    ///
    /// If the transaction's context (or `ctx`) has already ended, the transaction is rolled
    /// back instead and the cause is returned with [`StatementOutcome::NotSent`]. If `ctx`
    /// ends while `COMMIT` runs, the server is asked to stop it, and the error says what
    /// the server can tell: [`StatementOutcome::Stopped`] where a stopped commit is known to
    /// have rolled back (PostgreSQL: see [`Driver::STOPPED_COMMIT_ROLLS_BACK`]),
    /// [`StatementOutcome::Completed`] when the commit finished first, and
    /// [`StatementOutcome::Unknown`] otherwise (a stop on MySQL/MariaDB, a stop not yet
    /// confirmed, a lost connection), never that it rolled back when it may not have.
    ///
    /// What bounds a commit on the server: tethered's stop request, whenever the context
    /// ends. PostgreSQL's `statement_timeout` does not bound the work a commit does
    /// (deferred triggers and constraints), so a client that vanishes mid-commit leaves that
    /// work to finish (PostgreSQL 17's `transaction_timeout` would bound it; tethered does
    /// not set it).
    ///
    /// Not cancel safe: dropped mid-commit, whether the transaction committed is unknown.
    pub async fn commit(mut self, ctx: &Ctx) -> Result<()> {
        let mut connection = self.open()?;
        if let Some(cause) = self.ctx.cause().or_else(|| ctx.cause()) {
            roll_back(connection, self.cleanup_budget).await;
            return Err(cause.into());
        }
        match connection.execute(ctx, "COMMIT").await {
            Ok(_) => Ok(()),
            Err(Error::Canceled {
                cause,
                outcome: StatementOutcome::Stopped,
            }) if D::STOPPED_COMMIT_ROLLS_BACK => Err(Error::Canceled {
                cause,
                outcome: StatementOutcome::Stopped,
            }),
            Err(Error::Canceled {
                cause,
                outcome: StatementOutcome::Stopped | StatementOutcome::Stopping,
            }) => Err(Error::Canceled {
                cause,
                outcome: StatementOutcome::Unknown,
            }),
            Err(Error::Connection {
                message,
                source,
                unsent: false,
            }) => Err(Error::Connection {
                message: format!("{message} (during COMMIT: whether it committed is unknown)"),
                source,
                unsent: false,
            }),
            Err(error) => Err(error),
        }
    }

    /// Rolls back under `ctx`. If `ctx` has ended, the rollback still happens, within the
    /// pool's cancel grace.
    pub async fn rollback(mut self, ctx: &Ctx) -> Result<()> {
        let mut connection = self.open()?;
        if ctx.is_done() {
            roll_back(connection, self.cleanup_budget).await;
            return Ok(());
        }
        connection.execute(ctx, "ROLLBACK").await.map(drop)
    }

    fn open(&mut self) -> Result<PoolConnection<D>> {
        self.connection
            .take()
            .ok_or_else(|| Error::InvalidInput("the transaction has already ended".into()))
    }

    /// The connection for a statement, once the transaction's context is known to be live.
    async fn live(&mut self) -> Result<&mut PoolConnection<D>> {
        if let Some(cause) = self.ctx.cause() {
            if let Some(connection) = self.connection.take() {
                roll_back(connection, self.cleanup_budget).await;
            }
            return Err(cause.into());
        }
        self.connection
            .as_mut()
            .ok_or_else(|| Error::InvalidInput("the transaction has already ended".into()))
    }
}

/// Sends `ROLLBACK` under a context of its own (the caller's may have ended), bounded by
/// `budget`; a connection that cannot roll back is closed, which rolls back on the server.
async fn roll_back<D: Driver>(mut connection: PoolConnection<D>, budget: Duration) {
    let cleanup = Ctx::background().with_timeout(budget);
    if connection.execute(&cleanup, "ROLLBACK").await.is_err() {
        connection.close();
    }
}

impl<D: Driver> Drop for Transaction<D> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(roll_back(connection, self.cleanup_budget))),
            // Never return a connection to the pool mid-transaction.
            Err(_) => connection.close(),
        }
    }
}

impl<'t, D: Driver> Executor<D> for &'t mut Transaction<D> {
    type Reborrow<'a>
        = &'a mut Transaction<D>
    where
        Self: 'a;
    type Rows = RowStream<'t, D>;

    fn reborrow(&mut self) -> &mut Transaction<D> {
        self
    }

    fn stream_rows(self, ctx: &Ctx, sql: Sql) -> RowStream<'t, D> {
        let ctx = ctx.clone();
        RowStream::new(ctx.clone(), move |pour| async move {
            self.live().await?.pour(&ctx, sql, &pour).await
        })
    }

    async fn execute_sql(self, ctx: &Ctx, sql: Sql) -> Result<Executed> {
        self.live().await?.execute_sql(ctx, sql).await
    }

    async fn run<T, F>(self, ctx: &Ctx, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut D::Connection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.live().await?.run(ctx, operation).await
    }
}

impl<D: Driver> std::fmt::Debug for Transaction<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("connection", &self.connection)
            .field("ctx", &self.ctx)
            .finish()
    }
}
