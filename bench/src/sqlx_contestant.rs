//! sqlx, one implementation for both databases: its pool, its (persistent, cached)
//! prepared statements, and its `FromRow` derive.

use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::pool::PoolOptions;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use tethered::Ctx;

use crate::contestant::{Contestant, Item, Result, Statements, Streamed};

/// sqlx on a pool of its own.
pub struct Sqlx<DB: Database> {
    pool: Pool<DB>,
    statements: Statements,
}

impl<DB: Database> Sqlx<DB> {
    /// A pool of exactly `connections` connections with `options` (TLS off, as for every
    /// contestant).
    ///
    /// sqlx pings a connection before handing it out unless told not to, which its own
    /// documentation recommends turning off for speed; it is turned off here. The ping it
    /// sends when a connection is given back cannot be turned off and is measured.
    pub async fn connect(
        options: <DB::Connection as sqlx::Connection>::Options,
        statements: Statements,
        connections: usize,
    ) -> Result<Sqlx<DB>> {
        let connections = u32::try_from(connections)?;
        let pool = PoolOptions::<DB>::new()
            .max_connections(connections)
            .min_connections(connections)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(Sqlx { pool, statements })
    }
}

impl<DB> Contestant for Sqlx<DB>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'r> Item: FromRow<'r, DB::Row>,
{
    const STOPS_WITH_CTX: bool = false;

    async fn point_select(&self, id: i64) -> Result<Item> {
        let item = sqlx::query_as::<DB, Item>(self.statements.point_select)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(item)
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        for item in items {
            sqlx::query::<DB>(self.statements.insert)
                .bind(item.id)
                .bind(item.name.as_str())
                .bind(item.n)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        let items = sqlx::query_as::<DB, Item>(self.statements.select_range)
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
        Ok(items)
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let mut rows = sqlx::query_as::<DB, Item>(self.statements.select_range)
            .bind(first)
            .bind(last)
            .fetch(&self.pool);
        let mut streamed = Streamed::starting_at(first);
        while let Some(item) = rows.try_next().await? {
            streamed.take(&item)?;
        }
        Ok(streamed.count())
    }

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        sqlx::query::<DB>(sql).execute(&self.pool).await?;
        Ok(())
    }
}
