// `#[context_first]`: a function handed a context never starts one from nothing; the error
// points at the call, however the path is spelt.
use std::time::Duration;

use tethered::{Ctx, Result, context_first};

#[context_first]
pub async fn audit(ctx: &Ctx, what: &str) -> Result<()> {
    ctx.check()?;
    let detached = Ctx::background();
    let bounded = tethered::Ctx::background().with_timeout(Duration::from_secs(5));
    let _ = (what, detached, bounded);
    Ok(())
}

fn main() {}
