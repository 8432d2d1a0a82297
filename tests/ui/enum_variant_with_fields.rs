// A stored enum's variants are the column's values: one carrying data cannot be stored.
use tethered::Enum;

#[derive(Enum, Clone)]
enum Shape {
    Point,
    Circle { radius: f64 },
    Line(i32, i32),
}

fn main() {}
