// `#[context_first]` accepts functions, impl blocks and traits whose functions that can
// await take `&Ctx` first (after `self`), however the type is spelt; functions that cannot
// await are left alone. Used with both backends. Only compiled: `main` connects to nothing.
use std::future::Future;

use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, Model, Result, context_first};

#[derive(Model, Debug)]
#[tethered(table = "users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    id: i64,
    email: String,
}

#[context_first]
pub async fn load_from_postgres(ctx: &Ctx, db: &PgPool, id: i64) -> Result<Option<User>> {
    User::find(ctx, db, id).await
}

#[context_first]
pub async fn load_from_mysql(ctx: &tethered::Ctx, db: &MyPool, id: i64) -> Result<Option<User>> {
    User::find(ctx, db, id).await
}

#[context_first]
pub fn count_on_postgres<'a>(
    ctx: &'a Ctx,
    db: &'a PgPool,
) -> impl Future<Output = Result<u64>> + Send + 'a {
    User::query().count(ctx, db)
}

/// A repository for each backend.
pub struct Users<Db> {
    db: Db,
}

#[context_first]
impl Users<PgPool> {
    pub async fn load(&self, ctx: &Ctx, id: i64) -> Result<Option<User>> {
        User::find(ctx, &self.db, id).await
    }

    pub async fn rename(&mut self, ctx: &Ctx, mut user: User, email: String) -> Result<u64> {
        user.email = email;
        user.update(ctx, &self.db).await
    }

    pub fn table(&self) -> &'static str {
        <User as Model>::TABLE
    }
}

#[context_first]
impl Users<MyPool> {
    pub async fn load(&self, ctx: &Ctx, id: i64) -> Result<Option<User>> {
        User::find(ctx, &self.db, id).await
    }
}

/// A service written once for every backend.
#[context_first]
pub trait UserStore {
    fn load(&self, ctx: &Ctx, id: i64) -> impl Future<Output = Result<Option<User>>> + Send;

    fn count(&self, ctx: &Ctx) -> impl Future<Output = Result<u64>> + Send;

    fn name(&self) -> &'static str {
        "users"
    }
}

impl UserStore for PgPool {
    async fn load(&self, ctx: &Ctx, id: i64) -> Result<Option<User>> {
        User::find(ctx, self, id).await
    }

    fn count(&self, ctx: &Ctx) -> impl Future<Output = Result<u64>> + Send {
        User::query().count(ctx, self)
    }
}

impl UserStore for MyPool {
    async fn load(&self, ctx: &Ctx, id: i64) -> Result<Option<User>> {
        User::find(ctx, self, id).await
    }

    fn count(&self, ctx: &Ctx) -> impl Future<Output = Result<u64>> + Send {
        User::query().count(ctx, self)
    }
}

fn main() {}
