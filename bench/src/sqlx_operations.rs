//! sqlx, one implementation for every database: its pool, its (persistent, cached)
//! prepared statements, and its `FromRow` derive.
//!
//! Shared, through `#[path]`, with the sqlx-sqlite child (`bench/sqlx-sqlite`), so sqlx runs
//! the same code on SQLite as on PostgreSQL and MySQL: it depends on sqlx and `plan.rs` only.

use std::marker::PhantomData;
use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::pool::PoolOptions;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use crate::plan::{ItemRow, Operations, Result, Statements, Streamed};

/// sqlx on a pool of its own, decoding rows into `I`.
pub struct Sqlx<DB: Database, I> {
    pool: Pool<DB>,
    statements: Statements,
    item: PhantomData<fn() -> I>,
}

/// The pool every sqlx contestant gets: exactly `connections` connections, TLS off, as for
/// every contestant.
///
/// sqlx pings a connection before handing it out unless told not to, which its own
/// documentation recommends turning off for speed; it is turned off here. The ping it
/// sends when a connection is given back cannot be turned off and is measured.
pub fn pool_options<DB: Database>(connections: usize) -> Result<PoolOptions<DB>> {
    let connections = u32::try_from(connections)?;
    Ok(PoolOptions::<DB>::new()
        .max_connections(connections)
        .min_connections(connections)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30)))
}

impl<DB: Database, I> Sqlx<DB, I> {
    /// sqlx on `pool` (made with [`pool_options`]), running `statements`.
    pub fn new(pool: Pool<DB>, statements: Statements) -> Sqlx<DB, I> {
        Sqlx {
            pool,
            statements,
            item: PhantomData,
        }
    }
}

impl<DB, I> Sqlx<DB, I>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
{
    /// Runs `sql` (the cancellation workload's long statement) to its end. sqlx has no
    /// way to stop it: a dropped future leaves it running on the server (or on the SQLite
    /// connection's worker thread).
    pub async fn execute(&self, sql: &'static str) -> Result<()> {
        sqlx::query::<DB>(sql).execute(&self.pool).await?;
        Ok(())
    }
}

impl<DB, I> Operations for Sqlx<DB, I>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    I: for<'r> FromRow<'r, DB::Row> + ItemRow + Send + Sync + Unpin + 'static,
{
    type Item = I;

    async fn point_select(&self, id: i64) -> Result<I> {
        let item = sqlx::query_as::<DB, I>(self.statements.point_select)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(item)
    }

    async fn insert_in_transaction(&self, items: &[I]) -> Result<()> {
        let mut transaction = self.pool.begin().await?;
        for item in items {
            sqlx::query::<DB>(self.statements.insert)
                .bind(item.id())
                .bind(item.name())
                .bind(item.n())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<I>> {
        let items = sqlx::query_as::<DB, I>(self.statements.select_range)
            .bind(first)
            .bind(last)
            .fetch_all(&self.pool)
            .await?;
        Ok(items)
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let mut rows = sqlx::query_as::<DB, I>(self.statements.select_range)
            .bind(first)
            .bind(last)
            .fetch(&self.pool);
        let mut streamed = Streamed::starting_at(first);
        while let Some(item) = rows.try_next().await? {
            streamed.take(&item)?;
        }
        Ok(streamed.count())
    }
}
