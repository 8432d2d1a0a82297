// Every stored field must have a type the backends can bind and decode.
use std::collections::HashMap;
use tethered::Model;

#[derive(Model)]
struct User {
    #[tethered(primary_key)]
    id: i64,
    settings: HashMap<String, String>,
    score: i128,
}

fn main() {}
