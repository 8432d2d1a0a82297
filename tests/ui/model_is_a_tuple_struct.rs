// Each field of a model is a column, named after the field.
use tethered::Model;

#[derive(Model)]
struct User(i64, String);

fn main() {}
