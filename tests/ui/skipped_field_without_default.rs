// A skipped field is not read from the table: it is filled in with `Default::default()`.
use tethered::Model;

pub struct Connection {
    pub open: bool,
}

#[derive(Model)]
struct User {
    #[tethered(primary_key)]
    id: i64,
    #[tethered(skip)]
    connection: Connection,
}

fn main() {}
