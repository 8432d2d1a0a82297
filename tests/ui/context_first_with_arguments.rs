// `#[context_first]` takes no arguments.
use tethered::{Ctx, Result, context_first};

#[context_first(strict)]
pub async fn load(ctx: &Ctx, id: i64) -> Result<i64> {
    ctx.check()?;
    Ok(id)
}

fn main() {}
