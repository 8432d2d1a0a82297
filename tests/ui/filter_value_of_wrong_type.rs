// A column compares only with values of its field's type: `id` is an `i64`.
use tethered::{Filter, Model};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

pub fn by_id() -> Filter<User> {
    User::ID.eq("x")
}

fn main() {}
