// An enum stored as its #[repr] integer has no labels to rename, and needs an integer repr.
use tethered::Enum;

#[derive(Enum, Clone)]
#[repr(i32)]
#[tethered(rename_all = "snake_case")]
enum Priority {
    #[tethered(rename = "low")]
    Low = 1,
    High = 2,
}

#[derive(Enum, Clone)]
#[repr(usize)]
enum Size {
    Small,
}

fn main() {}
