// A misspelt attribute is an error, not silently ignored.
use tethered::Model;

#[derive(Model)]
#[tethered(tabel = "users")]
struct User {
    #[tethered(primary_key, autoincrement)]
    id: i64,
    email: String,
}

fn main() {}
