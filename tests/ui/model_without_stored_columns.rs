// A model whose every field is skipped maps nothing.
use tethered::Model;

#[derive(Model)]
struct Nothing {
    #[tethered(skip)]
    cache: String,
}

fn main() {}
