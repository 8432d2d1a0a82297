// `#[context_first]` on a trait checks every method that can await.
use tethered::{Ctx, Result, context_first};

#[context_first]
pub trait Repository {
    fn load(&self, ctx: &Ctx, id: i64) -> impl Future<Output = Result<i64>>;

    async fn store(&self, id: i64, ctx: Ctx) -> Result<()>;

    async fn ping(&self) -> Result<()>;
}

fn main() {}
