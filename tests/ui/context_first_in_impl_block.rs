// `#[context_first]` on an impl block checks every function that can await (`async fn`
// or `-> impl Future`), each error at its own parameter; plain functions are left alone.
use std::future::Future;

use tethered::{Ctx, Result, context_first};

pub struct Repository;

#[context_first]
impl Repository {
    pub async fn load(&self, id: i64) -> Result<i64> {
        Ok(id)
    }

    pub async fn store(&self, ctx: &Ctx, id: i64) -> Result<()> {
        ctx.check()?;
        let _ = id;
        Ok(())
    }

    pub fn remove(&self, id: i64, ctx: &Ctx) -> impl Future<Output = Result<()>> {
        let done = ctx.check().map_err(Into::into);
        let _ = id;
        async move { done }
    }

    pub fn name(&self) -> &str {
        "repository"
    }
}

fn main() {}
