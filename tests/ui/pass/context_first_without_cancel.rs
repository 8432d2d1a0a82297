// `#[context_first]` accepts the named detachment: work that must outlive the request keeps
// the request's values, not its cancellation, under a bound of its own. Outside marked code,
// `Ctx::background()` makes the root as usual.
use std::time::Duration;

use tethered::{Ctx, Result, context_first};

struct RequestId(u64);

#[context_first]
pub async fn handle(ctx: &Ctx) -> Result<u64> {
    ctx.check()?;
    let audit = ctx.without_cancel();
    let audit = audit.with_timeout(Duration::from_secs(5));
    Ok(audit.value::<RequestId>().map_or(0, |id| id.0))
}

fn main() {
    let root = Ctx::background();
    let request = root.with_value(RequestId(7));
    let _ = handle(&request);
}
