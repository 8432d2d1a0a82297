// #[derive(Enum)] maps an enum's variants to a column's values: a struct has none.
use tethered::Enum;

#[derive(Enum, Clone)]
struct Status {
    label: String,
}

#[derive(Enum, Clone)]
enum Never {}

fn main() {}
