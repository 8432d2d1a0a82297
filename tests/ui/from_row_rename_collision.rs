// Two fields cannot read the same column, whether by name or by rename.
use tethered::FromRow;

#[derive(FromRow)]
struct Totals {
    total: i64,
    #[tethered(rename = "total")]
    sum: i64,
    #[tethered(rename = "n")]
    count: i64,
    #[tethered(rename = "n")]
    rows: i64,
}

fn main() {}
