//! Models: plain structs mapped to tables by `#[derive(Model)]`, with typed columns and
//! every database operation taking the `&Ctx` first.
//!
//! The derive generates the data ([`Model`], [`Keyed`], [`FromRow`], the column handles);
//! the operations are written once here, generic over the backend, so the same model code
//! runs on PostgreSQL and MySQL.

mod column;
mod field;
mod filter;
mod select;

pub use column::Column;
pub use field::{Comparable, Field, field_from_row, field_value};
pub use filter::{Filter, Ordering};
pub use select::Select;

use std::future::Future;

use sea_query::{Alias, Expr, ExprTrait, InsertStatement, Query, Value};

use crate::ctx::Ctx;
use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::executor::{Executor, RowOf};
use crate::row::FromRow;

/// A stored column of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's name in the table.
    pub name: &'static str,
    /// Filled in by the database (auto-increment, default, generated): never inserted.
    pub generated: bool,
}

/// A struct stored in a table. Implemented by `#[derive(Model)]`.
///
/// Finding, inserting, updating and deleting by key need a primary key as well: a model
/// without one ([`Keyed`]) does not compile calls to them.
pub trait Model: Sized + Send + Sync + 'static {
    /// The table's name.
    const TABLE: &'static str;
    /// The stored columns, in field order (skipped fields are not columns).
    const COLUMNS: &'static [ColumnInfo];

    /// The value of every stored column, in [`Model::COLUMNS`] order;
    /// [`Error::InvalidInput`] if a field cannot be represented (see [`Field::to_value`]).
    fn values(&self) -> Result<Vec<Value>>;

    /// A query on this model's table, to narrow with [`Select::filter`], order, limit, and
    /// run with a terminal ([`Select::all`], [`Select::one`], ...). Sends nothing.
    fn query() -> Select<Self> {
        Select::new()
    }

    /// Inserts every model in `models`; returns the rows inserted. Generated columns are
    /// left to the database. An empty slice sends nothing.
    ///
    /// The models go in as few statements as the server's limit on bound values allows
    /// ([`Driver::MAX_PARAMETERS`]: 65,535 on PostgreSQL and MySQL/MariaDB, so 13,107 rows of
    /// five columns a statement), one after the other on `db`. Given a transaction, they
    /// all go in it: the batch is stored whole or not at all. Given a pool or a connection,
    /// each statement commits by itself, and a failure (or the context ending) part-way
    /// leaves the statements before it stored: pass a transaction when that matters.
    ///
    /// Cancel safe as every statement is: dropped, the statement in flight is stopped on
    /// the server (the ones before it stay stored, outside a transaction).
    fn insert_many<D, E>(
        ctx: &Ctx,
        mut db: E,
        models: &[Self],
    ) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
    {
        async move {
            let mut inserted = 0;
            for batch in models.chunks(rows_per_statement::<Self, D>()) {
                let statement = insert_batch(batch)?;
                inserted += db.reborrow().execute(ctx, statement).await?.rows_affected;
            }
            Ok(inserted)
        }
    }

    /// Inserts every model in `models` and returns the rows as stored, with their generated
    /// values, in the order of `models`. An empty slice sends nothing.
    ///
    /// PostgreSQL inserts them in batches as [`Model::insert_many`] does, each returning its
    /// rows (`RETURNING`). MySQL/MariaDB have no `RETURNING` (MariaDB's, from 10.5, is not
    /// MySQL's), so there each model is inserted and read back by its key as
    /// [`Model::insert`] does: two statements a model, slower by far; use `insert_many` where
    /// the stored rows are not needed. Transactions and failures part-way behave as for
    /// `insert_many`.
    ///
    /// Cancel safe as every statement is: dropped, the statement in flight is stopped on
    /// the server.
    fn insert_many_returning<D, E>(
        ctx: &Ctx,
        mut db: E,
        models: &[Self],
    ) -> impl Future<Output = Result<Vec<Self>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed + FromRow<RowOf<D>>,
    {
        async move {
            let mut stored = Vec::with_capacity(models.len());
            if !D::INSERT_RETURNING {
                for model in models {
                    stored.push(model.insert(ctx, db.reborrow()).await?);
                }
                return Ok(stored);
            }
            for batch in models.chunks(rows_per_statement::<Self, D>()) {
                let mut statement = insert_batch(batch)?;
                statement.returning(Query::returning().columns(column_names::<Self>()));
                let rows: Vec<Self> = db.reborrow().fetch_all(ctx, statement).await?;
                stored.extend(rows);
            }
            Ok(stored)
        }
    }

    /// Deletes every row `filter` matches; returns how many.
    fn delete_where<D, E>(
        ctx: &Ctx,
        db: E,
        filter: Filter<Self>,
    ) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
    {
        let mut delete = Query::delete();
        delete
            .from_table(Alias::new(Self::TABLE))
            .cond_where(filter.condition);
        async move { Ok(db.execute(ctx, delete).await?.rows_affected) }
    }

    /// The row whose primary key is `key`, if there is one.
    fn find<D, E, K>(ctx: &Ctx, db: E, key: K) -> impl Future<Output = Result<Option<Self>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed<Key = K> + FromRow<RowOf<D>>,
    {
        let select = Self::query().filter(key_is::<Self>(key)).statement;
        db.fetch_optional(ctx, select)
    }

    /// Inserts this model and returns the row as stored, with its generated values (an
    /// auto-increment key, defaults). PostgreSQL does it in one statement (`RETURNING`);
    /// MySQL reads the row back by its key, in the same connection.
    fn insert<D, E>(&self, ctx: &Ctx, db: E) -> impl Future<Output = Result<Self>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed + FromRow<RowOf<D>>,
    {
        let mut insert = insert_into::<Self>();
        let values = inserted_values(self);
        let key = (!Self::KEY.generated).then(|| self.key());
        async move {
            insert.values_panic(values?);
            if D::INSERT_RETURNING {
                insert.returning(Query::returning().columns(column_names::<Self>()));
                return db.fetch_one(ctx, insert).await;
            }
            insert_then_read(ctx, db, insert, key).await
        }
    }

    /// Writes every column but the key and generated ones to the row with this model's
    /// key; returns how many rows changed (MySQL counts a row whose values were already
    /// equal as unchanged).
    fn update<D, E>(&self, ctx: &Ctx, db: E) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed,
    {
        let statement = self.values().map(|values| {
            let changes: Vec<(Alias, Value)> = Self::COLUMNS
                .iter()
                .zip(values)
                .filter(|(column, _)| !column.generated && column.name != Self::KEY.name)
                .map(|(column, value)| (Alias::new(column.name), value))
                .collect();
            (!changes.is_empty()).then(|| {
                let mut update = Query::update();
                update
                    .table(Alias::new(Self::TABLE))
                    .values(
                        changes
                            .into_iter()
                            .map(|(column, value)| (column, Expr::val(value))),
                    )
                    .cond_where(key_is::<Self>(self.key()).condition);
                update
            })
        });
        async move {
            match statement? {
                Some(statement) => Ok(db.execute(ctx, statement).await?.rows_affected),
                None => Ok(0),
            }
        }
    }

    /// Deletes the row with this model's key; returns how many rows went (0 or 1).
    fn delete<D, E>(&self, ctx: &Ctx, db: E) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed,
    {
        Self::delete_where(ctx, db, key_is::<Self>(self.key()))
    }

    /// Deletes the row whose primary key is `key`; returns how many rows went (0 or 1).
    fn delete_by_key<D, E, K>(ctx: &Ctx, db: E, key: K) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
        Self: Keyed<Key = K>,
    {
        Self::delete_where(ctx, db, key_is::<Self>(key))
    }
}

/// A model with a primary key (`#[tethered(primary_key)]`), which is what
/// [`Model::find`], [`Model::insert`], [`Model::update`], [`Model::delete`] and
/// [`Model::delete_by_key`] need.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no primary key",
    label = "finding, inserting, updating or deleting by key needs a primary key",
    note = "mark the key field `#[tethered(primary_key)]` (with `auto_increment` if the \
            database generates it)"
)]
pub trait Keyed: Model {
    /// The primary key's Rust type.
    type Key: Into<Value> + Clone + Send + Sync;
    /// The primary key's column.
    const KEY: ColumnInfo;

    /// This model's primary key.
    fn key(&self) -> Self::Key;
}

/// Inserts, then reads the row back by its key (given, or generated by the server) through
/// the same executor: inside a transaction, on the transaction's connection.
async fn insert_then_read<M, D, E>(
    ctx: &Ctx,
    mut db: E,
    insert: InsertStatement,
    key: Option<M::Key>,
) -> Result<M>
where
    M: Keyed + FromRow<RowOf<D>>,
    D: Driver,
    E: Executor<D>,
{
    let executed = db.reborrow().execute(ctx, insert).await?;
    let key: Value = match key {
        Some(key) => key.into(),
        None => executed
            .last_insert_id
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the server reported no generated key for `{}`",
                    M::TABLE
                ))
            })?
            .into(),
    };
    let select = M::query().filter(Filter::new(Expr::col(Alias::new(M::KEY.name)).eq(key)));
    db.fetch_one(ctx, select.statement).await
}

pub(crate) fn column_names<M: Model>() -> impl Iterator<Item = Alias> {
    M::COLUMNS.iter().map(|column| Alias::new(column.name))
}

/// How many models one insert statement takes: as many as the server's limit on bound
/// values allows (at least one: a model wider than the limit is refused when sent).
fn rows_per_statement<M: Model, D: Driver>() -> usize {
    let columns = M::COLUMNS.iter().filter(|column| !column.generated).count();
    (D::MAX_PARAMETERS / columns.max(1)).max(1)
}

/// One statement inserting every model of `batch`.
fn insert_batch<M: Model>(batch: &[M]) -> Result<InsertStatement> {
    let mut insert = insert_into::<M>();
    for model in batch {
        insert.values_panic(inserted_values(model)?);
    }
    Ok(insert)
}

fn insert_into<M: Model>() -> InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(Alias::new(M::TABLE)).columns(
        M::COLUMNS
            .iter()
            .filter(|column| !column.generated)
            .map(|column| Alias::new(column.name)),
    );
    insert
}

fn inserted_values<M: Model>(model: &M) -> Result<Vec<Expr>> {
    Ok(M::COLUMNS
        .iter()
        .zip(model.values()?)
        .filter(|(column, _)| !column.generated)
        .map(|(_, value)| Expr::val(value))
        .collect())
}

fn key_is<M: Keyed>(key: M::Key) -> Filter<M> {
    Filter::new(Expr::col(Alias::new(M::KEY.name)).eq(key.into()))
}
