//! Raw tokio-postgres: statements prepared once per connection, rows decoded by hand.

use std::pin::pin;

use futures_util::TryStreamExt;
use tethered::Ctx;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::contestant::{Contestant, Item, Operations, Result, Statements, Streamed};
use crate::raw_pool::RawPool;

/// A connection and its prepared statements.
struct Session {
    client: Client,
    point_select: Statement,
    select_range: Statement,
    insert: Statement,
}

/// Raw tokio-postgres on a [`RawPool`].
pub struct RawPostgres {
    pool: RawPool<Session>,
}

impl RawPostgres {
    /// Opens `connections` connections to `url` and prepares `statements` on each.
    pub async fn connect(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> Result<RawPostgres> {
        let mut sessions = Vec::new();
        for _ in 0..connections {
            let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
            tokio::spawn(connection);
            sessions.push(Session {
                point_select: client.prepare(statements.point_select).await?,
                select_range: client.prepare(statements.select_range).await?,
                insert: client.prepare(statements.insert).await?,
                client,
            });
        }
        Ok(RawPostgres {
            pool: RawPool::new(sessions),
        })
    }
}

fn item(row: &Row) -> Result<Item> {
    Ok(Item {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        n: row.try_get(2)?,
    })
}

impl Operations for RawPostgres {
    type Item = Item;

    async fn point_select(&self, id: i64) -> Result<Item> {
        let session = self.pool.checkout().await;
        let row = session
            .client
            .query_one(&session.point_select, &[&id])
            .await?;
        item(&row)
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        let mut session = self.pool.checkout().await;
        let Session { client, insert, .. } = &mut *session;
        let transaction = client.transaction().await?;
        for item in items {
            transaction
                .execute(insert, &[&item.id, &item.name, &item.n])
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        let session = self.pool.checkout().await;
        let rows = session
            .client
            .query(&session.select_range, &[&first, &last])
            .await?;
        rows.iter().map(item).collect()
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let session = self.pool.checkout().await;
        let rows = session
            .client
            .query_raw(&session.select_range, [first, last])
            .await?;
        let mut rows = pin!(rows);
        let mut streamed = Streamed::starting_at(first);
        while let Some(row) = rows.try_next().await? {
            streamed.take(&item(&row)?)?;
        }
        Ok(streamed.count())
    }
}

impl Contestant for RawPostgres {
    const STOPS_WITH_CTX: bool = false;

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        let session = self.pool.checkout().await;
        session.client.batch_execute(sql).await?;
        Ok(())
    }
}
