// Streams of rows: raw SQL and model queries, on a pool, a connection or a transaction. A
// stream on a pool owns what it needs (a clone of the pool and of the context): it outlives
// the function that made it and moves into a spawned task. One on a transaction borrows the
// transaction until it is dropped. Only compiled: `main` connects to nothing.
use futures_util::{Stream, TryStreamExt};
use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, Executor, Model, Result, Sql};

#[derive(Model, Debug)]
#[tethered(table = "users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    pub name: String,
}

fn spawnable<S: Send + 'static>(_: S) {}

pub fn detached(db: &PgPool) -> impl Stream<Item = Result<(i64,)>> + Send + 'static {
    let ctx = Ctx::background();
    db.fetch(&ctx, "SELECT 1")
}

pub async fn on_postgres(ctx: &Ctx, db: &PgPool) -> Result<u64> {
    spawnable(User::query().stream(ctx, db));
    spawnable(detached(db));
    let mut users = User::query().limit(10).stream(ctx, db);
    let mut seen = 0;
    while let Some(user) = users.try_next().await? {
        let _: User = user;
        seen += 1;
    }
    let mut connection = db.acquire(ctx).await?;
    let first = connection.stream_rows(ctx, Sql::new("SELECT 1")).try_next().await?;
    drop(first);
    Ok(seen)
}

pub async fn on_mysql(ctx: &Ctx, db: &MyPool) -> Result<()> {
    let mut tx = db.begin(ctx).await?;
    {
        let mut rows = tx.fetch::<(i64, String)>(ctx, "SELECT 1, 'one'");
        while let Some((_, _)) = rows.try_next().await? {}
    }
    let _users: Vec<User> = User::query().all(ctx, &mut tx).await?;
    tx.commit(ctx).await
}

fn main() {}
