// `#[context_first]`: a function that can await takes a context, even with nothing else.
use tethered::{Result, context_first};

#[context_first]
pub async fn ping() -> Result<()> {
    Ok(())
}

fn main() {}
