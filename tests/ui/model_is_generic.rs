// A model maps one table, with one type per column.
use tethered::Model;

#[derive(Model)]
struct Row<T> {
    #[tethered(primary_key)]
    id: i64,
    value: T,
}

fn main() {}
