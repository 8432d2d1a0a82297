// A primary key is never NULL.
use tethered::Model;

#[derive(Model)]
struct User {
    #[tethered(primary_key)]
    id: Option<i64>,
    email: String,
}

fn main() {}
