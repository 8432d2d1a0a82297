// The `&Ctx` comes first, then the executor: the other order does not compile.
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub async fn user(ctx: &Ctx, db: &PgPool) -> Result<Option<User>> {
    User::find(db, ctx, 1).await
}

fn main() {}
