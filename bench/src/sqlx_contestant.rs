//! sqlx on PostgreSQL and MySQL, in this process (`sqlx_operations.rs`); on SQLite it runs
//! in a process of its own (`sqlx_sqlite.rs`).

use sqlx::{Connection, Database, Executor, IntoArguments, Pool};
use tethered::Ctx;

use crate::contestant::{Contestant, Item, Operations, Result, Statements};
use crate::sqlx_operations::{Sqlx, pool_options};

impl<DB: Database> Sqlx<DB, Item> {
    /// sqlx connected with `options` on a pool of `connections` ([`pool_options`]).
    pub async fn connect(
        options: <DB::Connection as Connection>::Options,
        statements: Statements,
        connections: usize,
    ) -> Result<Sqlx<DB, Item>> {
        let pool = pool_options::<DB>(connections)?
            .connect_with(options)
            .await?;
        Ok(Sqlx::new(pool, statements))
    }
}

impl<DB> Contestant for Sqlx<DB, Item>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    Sqlx<DB, Item>: Operations<Item = Item>,
{
    const STOPS_WITH_CTX: bool = false;

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        self.execute(sql).await
    }
}
