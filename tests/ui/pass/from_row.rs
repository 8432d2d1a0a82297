// Report rows: by column name, renamed, nullable, defaulted (per field and from the
// struct's `Default`), generic, and read on any backend without bounds; wide tuples.
use tethered::{Ctx, Driver, Executor, FromRow, Pool, Result};

#[derive(FromRow, Debug, Default)]
#[tethered(default)]
struct Sales {
    region: String,
    #[tethered(rename = "sum_cents")]
    total_cents: i64,
    best_customer: Option<String>,
    #[tethered(default)]
    refunds: i64,
    #[tethered(default = "euro")]
    currency: String,
    // Absent: the struct's default.
    note: String,
}

fn euro() -> String {
    "EUR".to_owned()
}

#[derive(FromRow)]
struct Labelled<T> {
    label: String,
    value: T,
}

#[derive(FromRow)]
struct r#Raw {
    r#type: String,
}

type Wide = (
    i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, String,
);

async fn reports<D: Driver>(ctx: &Ctx, db: &Pool<D>) -> Result<()> {
    let _: Vec<Sales> = db.fetch_all(ctx, "SELECT region, sum_cents FROM sales").await?;
    let _: Labelled<i64> = db.fetch_one(ctx, "SELECT 'n' AS label, 1 AS value").await?;
    let _: Option<Raw> = db.fetch_optional(ctx, "SELECT 'a' AS type").await?;
    let _: Wide = db.fetch_one(ctx, "SELECT 1, 2").await?;
    Ok(())
}

fn main() {
    let _ = reports::<tethered::postgres::Postgres>;
    let _ = reports::<tethered::mysql::MySql>;
}
