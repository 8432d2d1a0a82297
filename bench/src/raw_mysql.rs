//! Raw mysql_async: plain connections (not mysql_async's own pool), statements prepared
//! once per connection, rows decoded by hand.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, Statement, TxOpts};
use tethered::Ctx;

use crate::contestant::{Contestant, Item, Operations, Result, Statements, Streamed};
use crate::raw_pool::RawPool;

/// A connection and its prepared statements.
struct Session {
    conn: Conn,
    point_select: Statement,
    select_range: Statement,
    insert: Statement,
}

/// Raw mysql_async on a [`RawPool`].
pub struct RawMySql {
    pool: RawPool<Session>,
}

impl RawMySql {
    /// Opens `connections` connections to `url` and prepares `statements` on each.
    pub async fn connect(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> Result<RawMySql> {
        let opts = Opts::from_url(url)?;
        let mut sessions = Vec::new();
        for _ in 0..connections {
            let mut conn = Conn::new(opts.clone()).await?;
            sessions.push(Session {
                point_select: conn.prep(statements.point_select).await?,
                select_range: conn.prep(statements.select_range).await?,
                insert: conn.prep(statements.insert).await?,
                conn,
            });
        }
        Ok(RawMySql {
            pool: RawPool::new(sessions),
        })
    }
}

impl Operations for RawMySql {
    type Item = Item;

    async fn point_select(&self, id: i64) -> Result<Item> {
        let mut session = self.pool.checkout().await;
        let Session {
            conn, point_select, ..
        } = &mut *session;
        let row: Option<(i64, String, i64)> = conn.exec_first(&*point_select, (id,)).await?;
        let (id, name, n) = row.ok_or("no such row")?;
        Ok(Item { id, name, n })
    }

    async fn insert_in_transaction(&self, items: &[Item]) -> Result<()> {
        let mut session = self.pool.checkout().await;
        let Session { conn, insert, .. } = &mut *session;
        let mut transaction = conn.start_transaction(TxOpts::default()).await?;
        for item in items {
            transaction
                .exec_drop(&*insert, (item.id, item.name.as_str(), item.n))
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    async fn select_range(&self, first: i64, last: i64) -> Result<Vec<Item>> {
        let mut session = self.pool.checkout().await;
        let Session {
            conn, select_range, ..
        } = &mut *session;
        let items = conn
            .exec_map(&*select_range, (first, last), |(id, name, n)| Item {
                id,
                name,
                n,
            })
            .await?;
        Ok(items)
    }

    async fn stream_range(&self, first: i64, last: i64) -> Result<u64> {
        let mut session = self.pool.checkout().await;
        let Session {
            conn, select_range, ..
        } = &mut *session;
        let mut rows = conn.exec_iter(&*select_range, (first, last)).await?;
        let mut streamed = Streamed::starting_at(first);
        while let Some(row) = rows.next().await? {
            let (id, name, n) = mysql_async::from_row_opt(row)?;
            streamed.take(&Item { id, name, n })?;
        }
        Ok(streamed.count())
    }
}

impl Contestant for RawMySql {
    const STOPS_WITH_CTX: bool = false;

    async fn long_statement(&self, _request: &Ctx, sql: &'static str) -> Result<()> {
        let mut session = self.pool.checkout().await;
        session.conn.query_drop(sql).await?;
        Ok(())
    }
}
