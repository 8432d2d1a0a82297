// `#[context_first]`: the context is borrowed, not taken by value.
use tethered::{Ctx, Result, context_first};

#[context_first]
pub async fn load(ctx: Ctx, id: i64) -> Result<i64> {
    ctx.check()?;
    Ok(id)
}

fn main() {}
