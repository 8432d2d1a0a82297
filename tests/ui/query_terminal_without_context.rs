// A query terminal sends the statement: it cannot be called without the `&Ctx`.
use tethered::postgres::PgPool;
use tethered::{Model, Result};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub async fn users(db: &PgPool) -> Result<Vec<User>> {
    User::query()
        .filter(User::EMAIL.like("%@example.com"))
        .all(db)
        .await
}

fn main() {}
