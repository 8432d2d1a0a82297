// Two variants stored as the same label could not be told apart when read back.
use tethered::Enum;

#[derive(Enum, Clone)]
#[tethered(rename_all = "lowercase")]
enum Status {
    Active,
    #[tethered(rename = "active")]
    Enabled,
    OnHold,
    Onhold,
}

fn main() {}
