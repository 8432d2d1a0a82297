// Finding by key needs a key: on a model without `#[tethered(primary_key)]`, `find` says
// so, rather than suggesting another trait's method of the same name.
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model)]
struct Event {
    at: i64,
    message: String,
}

pub async fn lookup(ctx: &Ctx, db: &PgPool) -> Result<Option<Event>> {
    Event::find(ctx, db, 1).await
}

fn main() {}
