// Transactions: begun, used and ended under a context, on both backends; statements in a
// transaction reborrow it (`&mut tx`); a retried transaction's future can be spawned. Only
// compiled: `main` connects to nothing.
use tethered::mysql::MyPool;
use tethered::postgres::PgPool;
use tethered::{Ctx, Executor, Model, Result, Sql};

#[derive(Model, Debug)]
#[tethered(table = "accounts")]
pub struct Account {
    #[tethered(primary_key)]
    id: i64,
    balance: i64,
}

pub async fn transfer_on_postgres(ctx: &Ctx, db: &PgPool, amount: i64) -> Result<()> {
    let mut tx = db.begin(ctx).await?;
    let mut from = Account::find(ctx, &mut tx, 1).await?.unwrap();
    let mut to = Account::find(ctx, &mut tx, 2).await?.unwrap();
    from.balance -= amount;
    to.balance += amount;
    from.update(ctx, &mut tx).await?;
    to.update(ctx, &mut tx).await?;
    tx.execute(
        ctx,
        Sql::new("UPDATE audit SET transfers = transfers + $1").bind(1),
    )
    .await?;
    tx.commit(ctx).await
}

pub async fn transfer_on_mysql(ctx: &Ctx, db: &MyPool, amount: i64) -> Result<()> {
    let connection = db.acquire(ctx).await?;
    let mut tx = connection.begin(ctx).await?;
    let mut from = Account::find(ctx, &mut tx, 1).await?.unwrap();
    from.balance -= amount;
    from.update(ctx, &mut tx).await?;
    tx.rollback(ctx).await
}

/// The transfer, run again on a deadlock or a serialization failure; the amount is owned by
/// the closure and copied into each attempt.
pub async fn retried_transfer(ctx: &Ctx, db: &PgPool, amount: i64) -> Result<i64> {
    db.transaction(ctx, move |ctx, tx| {
        Box::pin(async move {
            let mut from = Account::find(ctx, &mut *tx, 1).await?.unwrap();
            from.balance -= amount;
            from.update(ctx, &mut *tx).await?;
            Ok(from.balance)
        })
    })
    .await
}

fn main() {
    let db: Option<PgPool> = None;
    if let Some(db) = db {
        tokio::spawn(async move { retried_transfer(&Ctx::background(), &db, 1).await });
    }
}
