// Model methods that send anything take the `&Ctx` first, after `self`.
use tethered::mysql::MyPool;
use tethered::{Model, Result};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub async fn register(db: &MyPool, user: User) -> Result<User> {
    user.insert(db).await
}

fn main() {}
