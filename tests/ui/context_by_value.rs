// Operations borrow the context: a `Ctx` by value is refused where `&Ctx` is required.
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub async fn count(ctx: Ctx, db: &PgPool) -> Result<u64> {
    User::query().count(ctx, db).await
}

fn main() {}
