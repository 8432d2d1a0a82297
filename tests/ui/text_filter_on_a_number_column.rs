// The text filters (`contains`, `starts_with`, `ends_with`, `ilike`) exist only on text
// columns.
use tethered::{Model, Select};

#[derive(Model)]
struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    age: i32,
}

pub fn ages_with_a_seven() -> Select<User> {
    User::query().filter(User::AGE.contains("7"))
}

fn main() {}
