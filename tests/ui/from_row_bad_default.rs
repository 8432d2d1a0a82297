// `default` is a flag or the path of a function, once per field.
use tethered::FromRow;

#[derive(FromRow)]
struct Totals {
    #[tethered(default = "not a path")]
    total: i64,
    #[tethered(default, default)]
    refunds: i64,
    #[tethered(default(zero))]
    fees: i64,
    #[tethered(rename = "")]
    region: String,
}

fn main() {}
