// A field of a type no backend decodes is reported where the row is read.
use tethered::postgres::PgPool;
use tethered::{Ctx, Executor, FromRow, Result};

#[derive(FromRow)]
struct Report {
    region: String,
    at: std::time::Instant,
}

async fn report(ctx: &Ctx, db: &PgPool) -> Result<Vec<Report>> {
    db.fetch_all(ctx, "SELECT region, at FROM reports").await
}

fn main() {}
