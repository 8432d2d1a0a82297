// Misspelt and misplaced attributes, and Model's attributes, are errors, all reported at once.
use tethered::FromRow;

#[derive(FromRow)]
#[tethered(defualt, rename = "totals")]
struct Totals {
    #[tethered(renam = "sum")]
    total: i64,
    #[tethered(column = "region_name")]
    region: String,
    #[tethered(primary_key)]
    id: i64,
}

fn main() {}
