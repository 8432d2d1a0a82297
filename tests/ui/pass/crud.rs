// Insert, find, update and delete — by key and by filter, one and many — on both backends,
// each taking the `&Ctx` first (after `self`). Only compiled: `main` connects to nothing.
use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result};

#[derive(Model, Debug)]
#[tethered(table = "users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

#[derive(Model, Debug)]
pub struct Event {
    at: i64,
    message: String,
}

pub async fn on_postgres(ctx: &Ctx, db: &PgPool) -> Result<()> {
    let mut ada: User = User {
        id: 0,
        email: "ada@example.com".into(),
    }
    .insert(ctx, db)
    .await?;
    let _found: Option<User> = User::find(ctx, db, ada.id).await?;
    ada.email = "ada@example.org".into();
    let _changed: u64 = ada.update(ctx, db).await?;
    let _deleted: u64 = ada.delete(ctx, db).await?;
    let _deleted: u64 = User::delete_by_key(ctx, db, 7).await?;

    let events = [Event {
        at: 1,
        message: "started".into(),
    }];
    let _inserted: u64 = Event::insert_many(ctx, db, &events).await?;
    let _deleted: u64 = Event::delete_where(ctx, db, Event::AT.lt(100)).await?;
    Ok(())
}

pub async fn on_mysql(ctx: &Ctx, db: &MyPool) -> Result<()> {
    let mut ada: User = User {
        id: 0,
        email: "ada@example.com".into(),
    }
    .insert(ctx, db)
    .await?;
    let _found: Option<User> = User::find(ctx, db, ada.id).await?;
    ada.email = "ada@example.org".into();
    let _changed: u64 = ada.update(ctx, db).await?;
    let _deleted: u64 = ada.delete(ctx, db).await?;
    let _deleted: u64 = User::delete_by_key(ctx, db, 7).await?;

    let events = [Event {
        at: 1,
        message: "started".into(),
    }];
    let _inserted: u64 = Event::insert_many(ctx, db, &events).await?;
    let _deleted: u64 = Event::delete_where(ctx, db, Event::AT.lt(100)).await?;
    Ok(())
}

fn main() {}
