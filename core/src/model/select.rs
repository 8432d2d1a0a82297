//! Queries on a model's table: built without sending anything, sent by a terminal.

use std::future::Future;
use std::marker::PhantomData;

use sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};

use crate::ctx::Ctx;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::executor::{Executor, RowOf};
use crate::model::filter::{Filter, OrderKind, Ordering};
use crate::model::{Model, column_names};
use crate::row::FromRow;
use crate::stream::Fetch;

/// A query on model `M`'s table, built without sending anything; the terminals send it.
#[derive(Clone, Debug)]
pub struct Select<M> {
    pub(crate) statement: SelectStatement,
    of: PhantomData<fn() -> M>,
}

impl<M: Model> Select<M> {
    pub(crate) fn new() -> Select<M> {
        let mut statement = Query::select();
        statement
            .columns(column_names::<M>())
            .from(Alias::new(M::TABLE));
        Select {
            statement,
            of: PhantomData,
        }
    }

    /// Keeps the rows `filter` matches (several filters all apply).
    pub fn filter(mut self, filter: Filter<M>) -> Select<M> {
        self.statement.cond_where(filter.condition);
        self
    }

    /// Orders the rows (several orderings apply in turn).
    pub fn order_by(mut self, ordering: Ordering<M>) -> Select<M> {
        let order = match ordering.order {
            OrderKind::Asc => Order::Asc,
            OrderKind::Desc => Order::Desc,
        };
        self.statement.order_by(Alias::new(ordering.column), order);
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Select<M> {
        self.statement.limit(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Select<M> {
        self.statement.offset(offset);
        self
    }

    /// Every matching row.
    pub fn all<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<Vec<M>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_all(ctx, self.statement)
    }

    /// Every matching row, decoded as the server sends it, with memory bounded by a few rows
    /// in flight whatever the result's size (see [`Executor::fetch`]).
    ///
    /// Nothing is sent until the stream is first polled. The context is obeyed between any
    /// two rows: when it ends, the statement is stopped on the server and the stream yields
    /// [`Error::Canceled`](crate::Error::Canceled), then ends. Dropping the stream part-way
    /// stops the statement on the server in the background; the connection is reused only
    /// once the server has confirmed the stop.
    pub fn stream<D, E>(self, ctx: &Ctx, db: E) -> Fetch<E::Rows, M>
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch(ctx, self.statement)
    }

    /// The first matching row; [`Error::RowNotFound`] if none matches.
    pub fn one<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<M>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_one(ctx, self.limit(1).statement)
    }

    /// The first matching row, if any.
    pub fn optional<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<Option<M>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_optional(ctx, self.limit(1).statement)
    }

    /// How many rows match (limit and offset are ignored).
    pub fn count<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
        (i64,): FromRow<RowOf<D>>,
    {
        let mut count = self.statement;
        count
            .clear_selects()
            .clear_order_by()
            .reset_limit()
            .reset_offset()
            .expr(Expr::col(sea_query::Asterisk).count());
        async move {
            let (rows,): (i64,) = db.fetch_one(ctx, count).await?;
            u64::try_from(rows)
                .map_err(|_| Error::InvalidInput(format!("a negative count: {rows}")))
        }
    }
}
