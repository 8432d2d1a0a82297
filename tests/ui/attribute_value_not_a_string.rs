// Names are string literals; flags take no value.
use tethered::Model;

#[derive(Model)]
#[tethered(table = users)]
struct User {
    #[tethered(primary_key = true)]
    id: i64,
    #[tethered(column = 1)]
    email: String,
    #[tethered(column = "")]
    nickname: String,
}

fn main() {}
