// `find` takes the primary key's type: `id` is an `i64`.
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub async fn user(ctx: &Ctx, db: &PgPool) -> Result<Option<User>> {
    User::find(ctx, db, "ada@example.com").await
}

fn main() {}
