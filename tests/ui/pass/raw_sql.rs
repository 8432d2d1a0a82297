// Raw SQL and sea-query statements through a pool, a connection or a transaction, each
// taking the `&Ctx` first. Only compiled: `main` connects to nothing.
use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::sea_query::{Alias, Expr, Query};
use tethered::{Ctx, Executor, Result, Sql};

pub async fn on_postgres(ctx: &Ctx, db: &PgPool) -> Result<()> {
    db.execute(ctx, "CREATE TABLE IF NOT EXISTS t (id int8)")
        .await?;
    let (answer,): (i32,) = db
        .fetch_one(ctx, Sql::new("SELECT $1::int4 * 2").bind(21))
        .await?;
    let _ = answer;
    let mut select = Query::select();
    select
        .expr(Expr::col(Alias::new("id")))
        .from(Alias::new("t"));
    let _rows: Vec<(i64,)> = db.fetch_all(ctx, &select).await?;
    let mut connection = db.acquire(ctx).await?;
    let _row: Option<(i64,)> = connection.fetch_optional(ctx, select).await?;
    Ok(())
}

pub async fn on_mysql(ctx: &Ctx, db: &MyPool) -> Result<()> {
    db.execute(ctx, String::from("DO SLEEP(0)")).await?;
    let (answer,): (i64,) = db.fetch_one(ctx, Sql::new("SELECT ? * 2").bind(21)).await?;
    let _ = answer;
    let mut tx = db.begin(ctx).await?;
    let _rows: Vec<(i64, String)> = tx.fetch_all(ctx, "SELECT 1, 'one'").await?;
    tx.commit(ctx).await
}

fn main() {}
