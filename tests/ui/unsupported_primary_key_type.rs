// The primary key is a stored field too: its type must be supported.
use tethered::Model;

#[derive(Model)]
struct User {
    #[tethered(primary_key)]
    id: (i64, i64),
    email: String,
}

fn main() {}
