//! tethered, through the facade, one implementation for both databases: a long-lived root
//! context, and per operation a request scope with a deadline, as a service would.

use std::time::Duration;

use futures_util::TryStreamExt;

use tethered::{Ctx, Driver, Executor, FromRow, Pool, RowOf, Scope, Sql};

use crate::contestant::{Contestant, Item, Operations, Result, Statements, Streamed};

/// The deadline each operation's request scope gets: far more than any operation takes,
/// as a service's request budget is.
pub const REQUEST_BUDGET: Duration = Duration::from_secs(5);

/// tethered on a pool of its own.
pub struct Tethered<D: Driver> {
    pool: Pool<D>,
    /// The service's context; requests derive from it.
    root: Ctx,
    /// Each operation's deadline, or `None` to run on the root itself (no scope, no
    /// server-side limit): only for profiling what the request scope costs.
    request_budget: Option<Duration>,
    statements: Statements,
}

/// The context one operation runs under.
enum Request<'a> {
    Scoped(Scope),
    Root(&'a Ctx),
}

impl std::ops::Deref for Request<'_> {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        match self {
            Request::Scoped(scope) => scope,
            Request::Root(root) => root,
        }
    }
}

impl<D: Driver> Tethered<D> {
    /// tethered on `pool`, each operation under a request scope with `request_budget` left
    /// (or under the root, without one).
    pub fn new(
        pool: Pool<D>,
        root: Ctx,
        request_budget: Option<Duration>,
        statements: Statements,
    ) -> Tethered<D> {
        Tethered {
            pool,
            root,
            request_budget,
            statements,
        }
    }

    fn request(&self) -> Request<'_> {
        match self.request_budget {
            Some(budget) => Request::Scoped(self.root.with_timeout(budget)),
            None => Request::Root(&self.root),
        }
    }
}

impl<D> Operations for Tethered<D>
where
    D: Driver,
    Item: FromRow<RowOf<D>>,
{
    type Item = Item;

    async fn point_select(&self, id: i64) -> Result<Item> {
        let request = self.request();
        let sql = Sql::new(self.statements.point_select).bind(id);
        Ok(self.pool.fetch_one(&request, sql).await?)
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        let request = self.request();
        let mut transaction = self.pool.begin(&request).await?;
        for item in items {
            let sql = Sql::new(self.statements.insert)
                .bind(item.id)
                .bind(item.name.clone())
                .bind(item.n);
            (&mut transaction).execute(&request, sql).await?;
        }
        transaction.commit(&request).await?;
        Ok(())
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        let request = self.request();
        let sql = Sql::new(self.statements.select_range)
            .bind(first)
            .bind(last);
        Ok(self.pool.fetch_all(&request, sql).await?)
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let request = self.request();
        let sql = Sql::new(self.statements.select_range)
            .bind(first)
            .bind(last);
        let mut rows = self.pool.fetch::<Item>(&request, sql);
        let mut streamed = Streamed::starting_at(first);
        while let Some(item) = rows.try_next().await? {
            streamed.take(&item)?;
        }
        Ok(streamed.count())
    }
}

impl<D> Contestant for Tethered<D>
where
    D: Driver,
    Item: FromRow<RowOf<D>>,
{
    const STOPS_WITH_CTX: bool = true;

    async fn long_statement(&self, request: &Ctx, sql: &'static str) -> Result<()> {
        self.pool.execute(request, Sql::new(sql)).await?;
        Ok(())
    }
}
