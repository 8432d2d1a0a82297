// An attribute given twice is an error, in one `#[tethered(...)]` or across several.
use tethered::Model;

#[derive(Model)]
#[tethered(table = "users")]
#[tethered(table = "accounts")]
struct User {
    #[tethered(primary_key, primary_key)]
    id: i64,
    #[tethered(column = "email")]
    #[tethered(column = "email_address")]
    email: String,
}

fn main() {}
