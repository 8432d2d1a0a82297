// A misspelt or misplaced attribute of a stored enum is an error, not silently ignored.
use tethered::Enum;

#[derive(Enum, Clone)]
#[tethered(rename_al = "snake_case", rename = "status")]
enum Status {
    #[tethered(renam = "on")]
    Active,
    #[tethered(rename_all = "lowercase")]
    Inactive,
}

#[derive(Enum, Clone)]
#[tethered(rename_all = "Title Case")]
enum Mood {
    Happy,
}

fn main() {}
