//! Where statements run: a pool, a checked-out connection, or a transaction.

use std::future::Future;

use futures_util::stream::FusedStream;
use futures_util::{Stream, TryStreamExt};
use tracing::Span;

use crate::connection::PoolConnection;
use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Connection, Driver, Executed};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::row::FromRow;
use crate::sql::{IntoSql, Sql};
use crate::stream::{Fetch, Pour, RowStream};

/// The row type of driver `D`.
pub type RowOf<D> = <<D as Driver>::Connection as Connection>::Row;

/// Something statements can run on, under a context: `&Pool` (a connection per statement),
/// `&mut PoolConnection`, or `&mut Transaction`.
///
/// Every method takes the statement's `&Ctx` first and follows the cancellation protocol
/// of [`PoolConnection::run`]: a done context sends nothing, and a context that ends
/// mid-statement stops the statement on the server. Dropping a returned future (or stream)
/// does the same, in the background.
///
/// Every read streams: [`Executor::fetch`] yields rows as the server sends them, and the
/// buffered reads ([`Executor::fetch_all`], [`Executor::fetch_one`], ...) are built on it,
/// so they too obey the context between any two rows, however fast they arrive.
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

    /// The stream of rows [`Executor::stream_rows`] returns: a [`RowStream`] holding this
    /// executor while it lives (a stream on a pool holds a clone of the pool, and is
    /// `'static`).
    type Rows: Stream<Item = Result<RowOf<D>>> + FusedStream + Send + Unpin;

    /// Borrows this executor for one statement: `&mut` executors are consumed by each
    /// call, so a sequence of statements on one connection reborrows for all but the last.
    fn reborrow(&mut self) -> Self::Reborrow<'_>;

    /// Runs `sql` and yields its rows, undecoded, as the server sends them (see
    /// [`RowStream`]: nothing is sent until it is polled; dropping it stops the statement).
    fn stream_rows(self, ctx: &Ctx, sql: Sql) -> Self::Rows;

    /// Runs `sql`, which returns no rows.
    fn execute_sql(self, ctx: &Ctx, sql: Sql) -> impl Future<Output = Result<Executed>> + Send;

    /// Runs `operation` on the executor's connection (a pooled one, checked out under `ctx`,
    /// for a pool) under the cancellation protocol of [`PoolConnection::run`]: for what a
    /// backend does beyond statements and rows (PostgreSQL's `COPY`, say). Unlike a
    /// statement on a pool, an operation that fails before reaching the server is not sent
    /// again: it may have consumed its input.
    ///
    /// Cancel safe as every statement is: dropped, the operation is handed to a task that
    /// stops it on the server, and the connection is reused only once the server has
    /// confirmed the stop.
    fn run<T, F>(self, ctx: &Ctx, operation: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut D::Connection) -> BoxFuture<'c, Result<T>> + Send + 'static;

    /// Runs `sql` and returns every row it produced, undecoded.
    ///
    /// Cancel safe as every statement is: dropped, the statement is stopped on the server.
    fn fetch_rows(self, ctx: &Ctx, sql: Sql) -> impl Future<Output = Result<Vec<RowOf<D>>>> + Send {
        self.stream_rows(ctx, sql).try_collect()
    }

    /// Runs a statement that returns no rows: raw SQL or a sea-query statement.
    ///
    /// Cancel safe as every statement is: dropped, the statement is stopped on the server.
    fn execute(
        self,
        ctx: &Ctx,
        statement: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Executed>> + Send {
        self.execute_sql(ctx, statement.into_sql())
    }

    /// Runs a query and yields its rows decoded into `T`, as the server sends them, with
    /// memory bounded by a few rows in flight whatever the result's size.
    ///
    /// ```no_run
    /// # use futures_util::TryStreamExt;
    /// # use tethered_core::{Ctx, Driver, Executor, FromRow, Pool, Result, RowOf};
    /// # async fn export<D: Driver>(ctx: &Ctx, pool: &Pool<D>) -> Result<u64>
    /// # where (i64, String): FromRow<RowOf<D>> {
    /// let mut rows = pool.fetch::<(i64, String)>(ctx, "SELECT id, name FROM users");
    /// let mut seen = 0;
    /// while let Some((id, name)) = rows.try_next().await? {
    ///     seen += 1;
    /// }
    /// # Ok(seen)
    /// # }
    /// ```
    ///
    /// Nothing is sent until the stream is first polled. The context is obeyed between any
    /// two rows: when it ends, the statement is stopped on the server and the stream yields
    /// [`Error::Canceled`] with the cause and what became of the statement, then ends.
    /// Dropping the stream part-way stops the statement on the server in the background, and
    /// the connection is reused only once the server has confirmed the stop. A stream on a
    /// transaction or a connection borrows it until the stream is dropped.
    fn fetch<T: FromRow<RowOf<D>>>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> Fetch<Self::Rows, T> {
        Fetch::new(self.stream_rows(ctx, query.into_sql()))
    }

    /// Runs a query and decodes every row into `T`, each as it arrives: the context is
    /// obeyed between any two rows, so a deadline is honoured even while rows flood in.
    ///
    /// Cancel safe as every statement is: dropped, the statement is stopped on the server.
    fn fetch_all<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Vec<T>>> + Send {
        self.fetch::<T>(ctx, query).try_collect()
    }

    /// Runs a query and decodes its first row; [`Error::RowNotFound`] if there is none.
    /// Any further rows are read and discarded, so the statement ends by itself and its
    /// connection is reused.
    ///
    /// Cancel safe as every statement is: dropped, the statement is stopped on the server.
    fn fetch_one<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<T>> + Send {
        let rows = self.stream_rows(ctx, query.into_sql());
        async move {
            first_row(rows).await?.map_or(
                Err(Error::RowNotFound {
                    table: T::FROM_TABLE,
                }),
                T::from_row,
            )
        }
    }

    /// Runs a query and decodes its first row, if any (further rows are read and discarded,
    /// as by [`Executor::fetch_one`]).
    ///
    /// Cancel safe as every statement is: dropped, the statement is stopped on the server.
    fn fetch_optional<T: FromRow<RowOf<D>> + Send>(
        self,
        ctx: &Ctx,
        query: impl IntoSql<D>,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        let rows = self.stream_rows(ctx, query.into_sql());
        async move { first_row(rows).await?.map(T::from_row).transpose() }
    }
}

/// The first of `rows`, after reading the rest to the end: a statement dropped part-way
/// would be stopped, and its connection closed if it had already completed.
async fn first_row<S, R>(mut rows: S) -> Result<Option<R>>
where
    S: Stream<Item = Result<R>> + Unpin,
{
    let first = rows.try_next().await?;
    while rows.try_next().await?.is_some() {}
    Ok(first)
}

impl<'c, D: Driver> Executor<D> for &'c mut PoolConnection<D> {
    type Reborrow<'a>
        = &'a mut PoolConnection<D>
    where
        Self: 'a;
    type Rows = RowStream<'c, D>;

    fn reborrow(&mut self) -> &mut PoolConnection<D> {
        self
    }

    fn stream_rows(self, ctx: &Ctx, sql: Sql) -> RowStream<'c, D> {
        let ctx = ctx.clone();
        RowStream::new(ctx.clone(), move |pour| async move {
            self.pour(&ctx, sql, &pour).await
        })
    }

    async fn execute_sql(self, ctx: &Ctx, sql: Sql) -> Result<Executed> {
        self.send(ctx, sql, &Execute).await?.output()
    }

    async fn run<T, F>(self, ctx: &Ctx, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut D::Connection) -> BoxFuture<'a, Result<T>> + Send + 'static,
    {
        PoolConnection::run(self, ctx, operation).await
    }
}

impl<D: Driver> Executor<D> for &Pool<D> {
    type Reborrow<'a>
        = &'a Pool<D>
    where
        Self: 'a;
    type Rows = RowStream<'static, D>;

    fn reborrow(&mut self) -> &Pool<D> {
        self
    }

    fn stream_rows(self, ctx: &Ctx, sql: Sql) -> RowStream<'static, D> {
        let (pool, ctx) = (self.clone(), ctx.clone());
        RowStream::new(ctx.clone(), move |pour| async move {
            pool.send(&ctx, sql, &pour).await.map(drop)
        })
    }

    async fn execute_sql(self, ctx: &Ctx, sql: Sql) -> Result<Executed> {
        self.send(ctx, sql, &Execute).await
    }

    async fn run<T, F>(self, ctx: &Ctx, operation: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut D::Connection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.acquire(ctx).await?.run(ctx, operation).await
    }
}

/// One kind of statement a connection runs: rows poured to a reader, or what it did.
trait Statement<D: Driver>: Clone + Send + Sync + 'static {
    type Output: Send + 'static;

    fn run<'c>(
        &'c self,
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<Self::Output>> + Send + 'c;

    /// Records what the statement did (`output`) on its span.
    fn record(output: &Self::Output, span: &Span);

    /// The statement's context ended and it goes to the stop task: whoever waits for its
    /// output lets go.
    fn abandon(&self) {}
}

/// A query whose rows go to a [`RowStream`].
impl<D: Driver> Statement<D> for Pour<D> {
    /// How many rows the server returned.
    type Output = u64;

    fn run<'c>(
        &'c self,
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<u64>> + Send + 'c {
        self.pour(connection, ctx, sql)
    }

    fn record(returned: &u64, span: &Span) {
        span.record("db.response.returned_rows", returned);
    }

    fn abandon(&self) {
        Pour::abandon(self);
    }
}

/// A statement without rows.
#[derive(Clone, Copy)]
struct Execute;

impl<D: Driver> Statement<D> for Execute {
    type Output = Executed;

    fn run<'c>(
        &'c self,
        connection: &'c mut D::Connection,
        ctx: &'c Ctx,
        sql: &'c Sql,
    ) -> impl Future<Output = Result<Executed>> + Send + 'c {
        connection.execute(ctx, sql.text(), sql.values())
    }

    fn record(executed: &Executed, span: &Span) {
        span.record("tethered.rows_affected", executed.rows_affected);
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
    /// Runs `sql` as `statement` under the cancellation protocol (see
    /// [`PoolConnection::run`]).
    async fn send<S: Statement<D>>(
        &mut self,
        ctx: &Ctx,
        sql: Sql,
        statement: &S,
    ) -> Result<Sent<S::Output>> {
        let bound = sql.values().0.len();
        if bound > D::MAX_PARAMETERS {
            return Err(Error::InvalidInput(format!(
                "the statement binds {bound} values, over the server's limit of {} per \
                 statement; send it in parts (a model's `insert_many` splits its batch)",
                D::MAX_PARAMETERS
            )));
        }
        let statement_ctx = ctx.clone();
        let landing = statement.clone();
        self.fly(
            ctx,
            sql,
            |mut object, sql, span| async move {
                let result = landing.run(object.connection(), &statement_ctx, &sql).await;
                if let Ok(output) = &result
                    && !span.is_disabled()
                {
                    S::record(output, &span);
                }
                let sent = match result {
                    Ok(output) => Ok(Sent::Done(output)),
                    Err(error) if error.is_retry_safe() => Ok(Sent::Unsent(error, sql)),
                    Err(error) => Err(error),
                };
                (object, sent)
            },
            || statement.abandon(),
        )
        .await
    }

    /// Runs `sql` on this connection, its rows poured to a [`RowStream`]'s reader.
    pub(crate) async fn pour(&mut self, ctx: &Ctx, sql: Sql, pour: &Pour<D>) -> Result<()> {
        self.send(ctx, sql, pour).await?.output().map(drop)
    }
}

impl<D: Driver> Pool<D> {
    /// Runs `sql` as `statement` on a pooled connection. One that fails before the
    /// statement reached the server (a connection the server closed while it idled, say) is
    /// replaced, and the statement sent once more within the same context: on an idle
    /// connection that answers a ping (every idle one is suspect now), or a new one.
    async fn send<S: Statement<D>>(&self, ctx: &Ctx, sql: Sql, statement: &S) -> Result<S::Output> {
        let sent = self.acquire(ctx).await?.send(ctx, sql, statement).await?;
        let Sent::Unsent(_, sql) = sent else {
            return sent.output();
        };
        self.suspect_idle();
        self.acquire(ctx)
            .await?
            .send(ctx, sql, statement)
            .await?
            .output()
    }
}
