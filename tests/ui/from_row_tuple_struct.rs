// A report row's fields are read by column name: a tuple struct has none.
use tethered::FromRow;

#[derive(FromRow)]
struct Totals(i64, String);

fn main() {}
