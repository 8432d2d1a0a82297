//! Where statements run: a pool, a checked-out connection, or a transaction.

use std::future::Future;

use crate::connection::PoolConnection;
use crate::ctx::Ctx;
use crate::driver::{Connection, Driver, Executed};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::row::FromRow;
use crate::sql::{IntoSql, Sql};

/// The row type of driver `D`.
pub type RowOf<D> = <<D as Driver>::Connection as Connection>::Row;

/// Something statements can run on, under a context: `&Pool` (a connection per statement),
/// `&mut PoolConnection`, or `&mut Transaction`.
///
/// Every method takes the statement's `&Ctx` first and follows the cancellation protocol
/// of [`PoolConnection::run`]: a done context sends nothing, and a context that ends
/// mid-statement stops the statement on the server. Dropping a returned future does the
/// same, in the background.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an executor",
    label = "expected `&pool`, `&mut connection` or `&mut transaction` here",
    note = "every operation takes the `&Ctx` first, then the executor"
)]
pub trait Executor<D: Driver>: Send + Sized {
    /// The executor for one more statement, leaving this one usable after it.
    type Reborrow<'a>: Executor<D>
    where
        Self: 'a;

    /// Borrows this executor for one statement: `&mut` executors are consumed by each
    /// call, so a sequence of statements on one connection reborrows for all but the last.
    fn reborrow(&mut self) -> Self::Reborrow<'_>;

    /// Runs `sql` and returns every row it produced.
    fn fetch_rows(self, ctx: &Ctx, sql: Sql) -> impl Future<Output = Result<Vec<RowOf<D>>>> + Send;

    /// Runs `sql`, which returns no rows.
    fn execute_sql(self, ctx: &Ctx, sql: Sql) -> impl Future<Output = Result<Executed>> + Send;

    /// Runs a statement that returns no rows: raw SQL or a sea-query statement.
    fn execute(
        self,
        ctx: &Ctx,
        statement: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Executed>> + Send {
        self.execute_sql(ctx, statement.into_sql())
    }

    // The futures below are built inside their async blocks, never built and then moved
    // in: statement futures are large, and each move would copy them.

    /// Runs a query and decodes every row into `T`.
    fn fetch_all<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Vec<T>>> + Send {
        let sql = query.into_sql();
        async move {
            let rows = self.fetch_rows(ctx, sql).await?;
            rows.into_iter().map(T::from_row).collect()
        }
    }

    /// Runs a query and decodes its first row; [`Error::RowNotFound`] if there is none.
    fn fetch_one<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<T>> + Send {
        let sql = query.into_sql();
        async move {
            let rows = self.fetch_rows(ctx, sql).await?;
            rows.into_iter()
                .next()
                .map_or(Err(Error::RowNotFound), T::from_row)
        }
    }

    /// Runs a query and decodes its first row, if any.
    fn fetch_optional<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        let sql = query.into_sql();
        async move {
            let rows = self.fetch_rows(ctx, sql).await?;
            rows.into_iter().next().map(T::from_row).transpose()
        }
    }
}

impl<D: Driver> Executor<D> for &mut PoolConnection<D> {
    type Reborrow<'a>
        = &'a mut PoolConnection<D>
    where
        Self: 'a;

    fn reborrow(&mut self) -> &mut PoolConnection<D> {
        self
    }

    async fn fetch_rows(self, ctx: &Ctx, sql: Sql) -> Result<Vec<RowOf<D>>> {
        self.send::<Fetch>(ctx, sql).await?.output()
    }

    async fn execute_sql(self, ctx: &Ctx, sql: Sql) -> Result<Executed> {
        self.send::<Execute>(ctx, sql).await?.output()
    }
}

impl<D: Driver> Executor<D> for &Pool<D> {
    type Reborrow<'a>
        = &'a Pool<D>
    where
        Self: 'a;

    fn reborrow(&mut self) -> &Pool<D> {
        self
    }

    async fn fetch_rows(self, ctx: &Ctx, sql: Sql) -> Result<Vec<RowOf<D>>> {
        self.send::<Fetch>(ctx, sql).await
    }

    async fn execute_sql(self, ctx: &Ctx, sql: Sql) -> Result<Executed> {
        self.send::<Execute>(ctx, sql).await
    }
}

/// One kind of statement a connection runs: rows back, or what it did.
trait Statement<D: Driver>: Send + 'static {
    type Output: Send + 'static;

    fn run<'c>(
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<Self::Output>> + Send + 'c;
}

/// A query: every row.
struct Fetch;

impl<D: Driver> Statement<D> for Fetch {
    type Output = Vec<RowOf<D>>;

    fn run<'c>(
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<Vec<RowOf<D>>>> + Send + 'c {
        connection.fetch_all(ctx, sql.text(), sql.values())
    }
}

/// A statement without rows.
struct Execute;

impl<D: Driver> Statement<D> for Execute {
    type Output = Executed;

    fn run<'c>(
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<Executed>> + Send + 'c {
        connection.execute(ctx, sql.text(), sql.values())
    }
}

/// How a statement ended: its output, or its failure before it reached the server, with
/// the statement given back to send again.
enum Sent<T> {
    Done(T),
    Unsent(Error, Sql),
}

impl<T> Sent<T> {
    fn output(self) -> Result<T> {
        match self {
            Sent::Done(output) => Ok(output),
            Sent::Unsent(error, _) => Err(error),
        }
    }
}

impl<D: Driver> PoolConnection<D> {
    /// Runs `sql` as an `S` under the cancellation protocol (see [`PoolConnection::run`]).
    async fn send<S: Statement<D>>(&mut self, ctx: &Ctx, sql: Sql) -> Result<Sent<S::Output>> {
        let statement_ctx = ctx.clone();
        self.fly(ctx, |mut object| async move {
            let result = S::run(object.connection(), &statement_ctx, &sql).await;
            let sent = match result {
                Ok(output) => Ok(Sent::Done(output)),
                Err(error) if error.is_retry_safe() => Ok(Sent::Unsent(error, sql)),
                Err(error) => Err(error),
            };
            (object, sent)
        })
        .await
    }
}

impl<D: Driver> Pool<D> {
    /// Runs `sql` as an `S` on a pooled connection. One that fails before the statement
    /// reached the server (a connection the server closed while it idled, say) is
    /// replaced, and the statement sent once more within the same context: on an idle
    /// connection that answers a ping (every idle one is suspect now), or a new one.
    async fn send<S: Statement<D>>(&self, ctx: &Ctx, sql: Sql) -> Result<S::Output> {
        let sent = self.acquire(ctx).await?.send::<S>(ctx, sql).await?;
        let Sent::Unsent(_, sql) = sent else {
            return sent.output();
        };
        self.suspect_idle();
        self.acquire(ctx).await?.send::<S>(ctx, sql).await?.output()
    }
}
