// A row is read into a struct, never an enum.
use tethered::FromRow;

#[derive(FromRow)]
enum Status {
    Open,
    Closed,
}

fn main() {}
