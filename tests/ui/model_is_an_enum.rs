// A model maps a table: it is a struct.
use tethered::Model;

#[derive(Model)]
enum Status {
    Active,
    Suspended,
}

fn main() {}
