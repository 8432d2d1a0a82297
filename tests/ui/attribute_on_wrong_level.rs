// `table` describes the struct; `primary_key`, `column`, ... describe a field.
use tethered::Model;

#[derive(Model)]
#[tethered(primary_key)]
struct User {
    #[tethered(primary_key, table = "users")]
    id: i64,
    email: String,
}

fn main() {}
