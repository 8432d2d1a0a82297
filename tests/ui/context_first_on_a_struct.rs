// `#[context_first]` checks functions: on anything else it is a mistake.
use tethered::context_first;

#[context_first]
pub struct Repository;

fn main() {}
