// Every filter, ordering, limit, offset and terminal, on both backends and on every kind
// of executor: a pool, a checked-out connection, a transaction. Each terminal takes the
// `&Ctx` first. Only compiled: `main` connects to nothing.
use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, Filter, Model, Result, Select};

#[derive(Model, Debug)]
#[tethered(table = "users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
    nickname: Option<String>,
    karma: i32,
}

/// A filter of every kind; values convert into the column's type (`i32` from `i16`).
pub fn every_filter() -> Filter<User> {
    let karma: i16 = 10;
    User::ID
        .eq(1)
        .and(User::ID.ne(2))
        .and(User::KARMA.lt(i32::from(karma)))
        .and(User::KARMA.le(100))
        .and(User::KARMA.gt(-5).or(User::KARMA.ge(0)))
        .and(User::ID.is_in([1, 2, 3]))
        .and(User::ID.is_in(Vec::<i64>::new()))
        .and(User::NICKNAME.is_null())
        .and(!User::NICKNAME.is_not_null())
        .and(User::NICKNAME.eq("ada"))
        .and(User::EMAIL.eq(String::from("ada@example.com")))
        .and(User::EMAIL.like("%@example.com"))
}

/// Narrowing: several filters and orderings, a limit and an offset.
pub fn page() -> Select<User> {
    User::query()
        .filter(every_filter())
        .filter(User::EMAIL.ne("root@example.com"))
        .order_by(User::KARMA.desc())
        .order_by(User::ID.asc())
        .limit(10)
        .offset(20)
}

pub async fn on_postgres(ctx: &Ctx, db: &PgPool) -> Result<()> {
    let _all: Vec<User> = page().all(ctx, db).await?;
    let _one: User = page().one(ctx, db).await?;
    let _maybe: Option<User> = page().optional(ctx, db).await?;
    let _count: u64 = page().count(ctx, db).await?;

    let mut connection = db.acquire(ctx).await?;
    let _all: Vec<User> = page().all(ctx, &mut connection).await?;
    let _count: u64 = User::query().count(ctx, &mut connection).await?;

    let mut tx = db.begin(ctx).await?;
    let _one: User = page().one(ctx, &mut tx).await?;
    let _maybe: Option<User> = page().optional(ctx, &mut tx).await?;
    tx.commit(ctx).await
}

pub async fn on_mysql(ctx: &Ctx, db: &MyPool) -> Result<()> {
    let _all: Vec<User> = page().all(ctx, db).await?;
    let _one: User = page().one(ctx, db).await?;
    let _maybe: Option<User> = page().optional(ctx, db).await?;
    let _count: u64 = page().count(ctx, db).await?;

    let mut connection = db.acquire(ctx).await?;
    let _all: Vec<User> = page().all(ctx, &mut connection).await?;
    let _count: u64 = User::query().count(ctx, &mut connection).await?;

    let mut tx = db.begin(ctx).await?;
    let _one: User = page().one(ctx, &mut tx).await?;
    let _maybe: Option<User> = page().optional(ctx, &mut tx).await?;
    tx.commit(ctx).await
}

fn main() {
    // Building a query sends nothing and needs no context.
    let _ = page();
}
