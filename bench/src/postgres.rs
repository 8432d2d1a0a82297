//! PostgreSQL: its dialect, its contestants, and `pg_stat_activity`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tethered::{Ctx, Pool};
use tokio_postgres::{Client, NoTls, Statement};

use crate::backend::{Backend, Observer, ROWS, Tables, tethered_options};
use crate::contestant::{Item, Result, Statements};
use crate::raw_postgres::RawPostgres;
use crate::sqlx_operations::Sqlx;
use crate::tethered_contestant::Tethered;

/// PostgreSQL.
pub struct PostgresBackend;

/// The observer: a plain tokio-postgres connection.
pub struct PgObserver {
    client: Client,
    running: Statement,
}

impl Observer for PgObserver {
    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.client.batch_execute(sql).await?;
        Ok(())
    }

    async fn running(&mut self, marker: &str) -> Result<u64> {
        let pattern = format!("%{marker}%");
        let row = self.client.query_one(&self.running, &[&pattern]).await?;
        Ok(u64::try_from(row.try_get::<_, i64>(0)?)?)
    }

    async fn statements_prepared(&mut self) -> Result<Option<u64>> {
        Ok(None)
    }

    async fn server_version(&mut self) -> Result<String> {
        let row = self.client.query_one("SHOW server_version", &[]).await?;
        Ok(format!("PostgreSQL {}", row.try_get::<_, String>(0)?))
    }
}

impl Backend for PostgresBackend {
    const NAME: &'static str = "postgres";
    const URL_VARIABLE: &'static str = "TETHERED_POSTGRES_URL";
    const DEFAULT_URL: &'static str = "postgres://postgres@127.0.0.1:5432/test";

    type Raw = RawPostgres;
    type Sqlx = Sqlx<sqlx::Postgres, Item>;
    type Tethered = Tethered<tethered::postgres::Postgres>;
    type Driver = tethered::postgres::Postgres;
    type Observer = PgObserver;

    fn statements(tables: &Tables) -> Statements {
        let Tables { items, inserts } = tables;
        Statements {
            point_select: format!("SELECT id, name, n FROM {items} WHERE id = $1").leak(),
            select_range: format!(
                "SELECT id, name, n FROM {items} WHERE id BETWEEN $1 AND $2 ORDER BY id"
            )
            .leak(),
            insert: format!("INSERT INTO {inserts} (id, name, n) VALUES ($1, $2, $3)").leak(),
        }
    }

    fn create_tables(tables: &Tables) -> Vec<String> {
        let Tables { items, inserts } = tables;
        let columns = "(id int8 PRIMARY KEY, name text NOT NULL, n int8 NOT NULL)";
        vec![
            format!("CREATE TABLE {items} {columns}"),
            format!("CREATE TABLE {inserts} {columns}"),
            format!(
                "INSERT INTO {items} SELECT g, 'item ' || g, g * 7 FROM generate_series(1, {ROWS}) g"
            ),
            format!("ANALYZE {items}"),
        ]
    }

    fn flood(marker: &str) -> String {
        format!("SELECT generate_series(1::int8, 1000000000000) /* {marker} */")
    }

    fn sleep(seconds: u64, marker: &str) -> String {
        format!("SELECT pg_sleep({seconds}), '{marker}'")
    }

    async fn observer(url: &str) -> Result<PgObserver> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        let running = client
            .prepare(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1",
            )
            .await?;
        Ok(PgObserver { client, running })
    }

    async fn raw(url: &str, statements: Statements, connections: usize) -> Result<RawPostgres> {
        RawPostgres::connect(url, statements, connections).await
    }

    async fn sqlx(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> Result<Sqlx<sqlx::Postgres, Item>> {
        let options = PgConnectOptions::from_str(url)?.ssl_mode(PgSslMode::Disable);
        Sqlx::connect(options, statements, connections).await
    }

    async fn tethered(
        url: &str,
        statements: Statements,
        connections: usize,
        request_budget: Option<Duration>,
    ) -> Result<Tethered<tethered::postgres::Postgres>> {
        let root = Ctx::background();
        let pool = Self::tethered_pool(&root, url, connections).await?;
        Ok(Tethered::new(pool, root, request_budget, statements))
    }

    async fn tethered_pool(
        ctx: &Ctx,
        url: &str,
        connections: usize,
    ) -> Result<Pool<tethered::postgres::Postgres>> {
        Ok(tethered::postgres::connect(ctx, url, tethered_options(connections)).await?)
    }
}
