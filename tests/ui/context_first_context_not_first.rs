// `#[context_first]`: the context is the first parameter, not any parameter.
use tethered::{Ctx, Result, context_first};

#[context_first]
pub async fn load(id: i64, ctx: &Ctx) -> Result<i64> {
    ctx.check()?;
    Ok(id)
}

fn main() {}
