// `#[context_first]` on an impl block refuses a root context in every function's body,
// async or not, passed as a function or made inside a closure.
use tethered::{Ctx, Result, context_first};

pub struct Jobs;

#[context_first]
impl Jobs {
    pub async fn run(&self, ctx: &Ctx, given: Option<Ctx>) -> Result<()> {
        let ctx_for_job = given.unwrap_or_else(Ctx::background);
        let later = move || Ctx::background();
        let _ = (ctx, ctx_for_job, later);
        Ok(())
    }

    pub fn fresh(&self) -> Ctx {
        Ctx::background()
    }
}

fn main() {}
