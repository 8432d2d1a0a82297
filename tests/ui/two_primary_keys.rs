// One primary key per model: composite keys are refused, at the second one.
use tethered::Model;

#[derive(Model)]
struct Membership {
    #[tethered(primary_key)]
    user_id: i64,
    #[tethered(primary_key)]
    group_id: i64,
}

fn main() {}
