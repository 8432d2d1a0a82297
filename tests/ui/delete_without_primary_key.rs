// Operations by key need a key: a model without `#[tethered(primary_key)]` has no `find`,
// `insert`, `update`, `delete` or `delete_by_key`.
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model)]
struct Event {
    at: i64,
    message: String,
}

pub async fn forget(ctx: &Ctx, db: &PgPool, event: Event) -> Result<u64> {
    event.delete(ctx, db).await
}

pub async fn forget_by_key(ctx: &Ctx, db: &PgPool) -> Result<u64> {
    Event::delete_by_key(ctx, db, 1).await
}

fn main() {}
