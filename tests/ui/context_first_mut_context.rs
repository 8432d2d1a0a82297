// `#[context_first]`: the context is shared, never borrowed mutably.
use tethered::{Ctx, Result, context_first};

#[context_first]
pub async fn load(ctx: &mut Ctx, id: i64) -> Result<i64> {
    ctx.check()?;
    Ok(id)
}

fn main() {}
