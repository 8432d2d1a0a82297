//! MySQL/MariaDB: its dialect, its contestants, and `SHOW FULL PROCESSLIST`.

use std::str::FromStr;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use tethered::{Ctx, Pool};

use crate::backend::{Backend, Observer, ROWS, Tables, tethered_options};
use crate::contestant::{Item, Result, Statements};
use crate::raw_mysql::RawMySql;
use crate::sqlx_operations::Sqlx;
use crate::tethered_contestant::Tethered;

/// MySQL/MariaDB.
pub struct MySqlBackend;

/// The observer: a plain mysql_async connection.
pub struct MyObserver {
    conn: Conn,
}

impl Observer for MyObserver {
    async fn execute(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).await?;
        Ok(())
    }

    async fn running(&mut self, marker: &str) -> Result<u64> {
        // `SHOW PROCESSLIST`, not `information_schema.PROCESSLIST`: MariaDB 10.11.19 has
        // crashed (signal 11 in `ha_maria::drop_table`, freeing the internal temporary
        // table such a query fills) under polls like these.
        let processes: Vec<mysql_async::Row> = self.conn.query("SHOW FULL PROCESSLIST").await?;
        let running = processes.iter().filter(|process| {
            let command = process.get_opt::<String, _>(4).and_then(|value| value.ok());
            let info = process.get_opt::<String, _>(7).and_then(|value| value.ok());
            command.as_deref() != Some("Sleep") && info.is_some_and(|info| info.contains(marker))
        });
        Ok(running.count() as u64)
    }

    async fn statements_prepared(&mut self) -> Result<Option<u64>> {
        let row: Option<(String, u64)> = self
            .conn
            .query_first("SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")
            .await?;
        Ok(row.map(|(_, count)| count))
    }

    async fn server_version(&mut self) -> Result<String> {
        let version: Option<String> = self.conn.query_first("SELECT VERSION()").await?;
        Ok(version.unwrap_or_default())
    }
}

/// The Unix socket mysql_async moves its connections to (its `prefer_socket`, on unless
/// the URL turns it off) when the server names one that can be reached, as on this machine.
/// sqlx, which stays on TCP by itself, is given the same socket, so that all three
/// contestants use one transport and the comparison is of the libraries.
async fn unix_socket(url: &str) -> Result<Option<String>> {
    let opts = Opts::from_url(url)?;
    if !opts.prefer_socket() {
        return Ok(None);
    }
    let mut conn = Conn::new(opts).await?;
    let socket: Option<String> = conn.query_first("SELECT @@socket").await?;
    conn.disconnect().await?;
    Ok(socket.filter(|path| std::path::Path::new(path).exists()))
}

impl Backend for MySqlBackend {
    const NAME: &'static str = "mysql";
    const URL_VARIABLE: &'static str = "TETHERED_MYSQL_URL";
    const DEFAULT_URL: &'static str = "mysql://root@127.0.0.1:3306/test";

    type Raw = RawMySql;
    type Sqlx = Sqlx<sqlx::MySql, Item>;
    type Tethered = Tethered<tethered::mysql::MySql>;
    type Driver = tethered::mysql::MySql;
    type Observer = MyObserver;

    fn statements(tables: &Tables) -> Statements {
        let Tables { items, inserts } = tables;
        Statements {
            point_select: format!("SELECT id, name, n FROM {items} WHERE id = ?").leak(),
            select_range: format!(
                "SELECT id, name, n FROM {items} WHERE id BETWEEN ? AND ? ORDER BY id"
            )
            .leak(),
            insert: format!("INSERT INTO {inserts} (id, name, n) VALUES (?, ?, ?)").leak(),
        }
    }

    fn create_tables(tables: &Tables) -> Vec<String> {
        let Tables { items, inserts } = tables;
        let columns = "(id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, n BIGINT NOT NULL) \
                       ENGINE=InnoDB";
        vec![
            format!("CREATE TABLE {items} {columns}"),
            format!("CREATE TABLE {inserts} {columns}"),
            // MariaDB's Sequence engine; on MySQL a recursive CTE would do.
            format!(
                "INSERT INTO {items} SELECT seq, CONCAT('item ', seq), seq * 7 FROM seq_1_to_{ROWS}"
            ),
            format!("ANALYZE TABLE {items}"),
        ]
    }

    fn over_tcp(url: &str) -> String {
        <tethered_tests::MySql as tethered_tests::Backend>::over_tcp(url)
    }

    fn flood(marker: &str) -> String {
        format!("SELECT CAST(seq AS SIGNED) FROM seq_1_to_1000000000000 /* {marker} */")
    }

    fn sleep(seconds: u64, marker: &str) -> String {
        format!("SELECT SLEEP({seconds}), '{marker}'")
    }

    async fn observer(url: &str) -> Result<MyObserver> {
        let conn = Conn::new(Opts::from_url(url)?).await?;
        Ok(MyObserver { conn })
    }

    async fn raw(url: &str, statements: Statements, connections: usize) -> Result<RawMySql> {
        RawMySql::connect(url, statements, connections).await
    }

    async fn sqlx(
        url: &str,
        statements: Statements,
        connections: usize,
    ) -> Result<Sqlx<sqlx::MySql, Item>> {
        let mut options = MySqlConnectOptions::from_str(url)?.ssl_mode(MySqlSslMode::Disabled);
        if let Some(socket) = unix_socket(url).await? {
            options = options.socket(socket);
        }
        Sqlx::connect(options, statements, connections).await
    }

    async fn tethered(
        url: &str,
        statements: Statements,
        connections: usize,
        request_budget: Option<Duration>,
    ) -> Result<Tethered<tethered::mysql::MySql>> {
        let root = Ctx::background();
        let pool = Self::tethered_pool(&root, url, connections).await?;
        Ok(Tethered::new(pool, root, request_budget, statements))
    }

    async fn tethered_pool(
        ctx: &Ctx,
        url: &str,
        connections: usize,
    ) -> Result<Pool<tethered::mysql::MySql>> {
        Ok(tethered::mysql::connect(ctx, url, tethered_options(connections)).await?)
    }
}
