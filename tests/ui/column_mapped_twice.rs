// Two fields cannot map to the same column.
use tethered::Model;

#[derive(Model)]
struct User {
    #[tethered(primary_key)]
    id: i64,
    email: String,
    #[tethered(column = "email")]
    contact: String,
}

fn main() {}
