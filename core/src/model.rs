//! Models: plain structs mapped to tables by `#[derive(Model)]`, with typed columns and
//! every database operation taking the `&Ctx` first.
//!
//! The derive generates the data ([`Model`], [`Keyed`], [`FromRow`], the column handles);
//! the operations are written once here, generic over the backend, so the same model code
//! runs on PostgreSQL and MySQL.

use std::future::Future;
use std::marker::PhantomData;

use sea_query::{
    Alias, Condition, Expr, ExprTrait, InsertStatement, Order, Query, SelectStatement, Value,
};

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

    /// The value of every stored column, in [`Model::COLUMNS`] order.
    fn values(&self) -> Vec<Value>;

    /// A query on this model's table, to narrow with [`Select::filter`], order, limit, and
    /// run with a terminal ([`Select::all`], [`Select::one`], ...). Sends nothing.
    fn query() -> Select<Self> {
        Select::new()
    }

    /// Inserts every model in `models` in one statement; returns the rows inserted.
    /// Generated columns are left to the database. An empty slice sends nothing.
    fn insert_many<D, E>(
        ctx: &Ctx,
        db: E,
        models: &[Self],
    ) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
    {
        let statement = (!models.is_empty()).then(|| {
            let mut insert = insert_into::<Self>();
            for model in models {
                insert.values_panic(inserted_values(model));
            }
            insert
        });
        async move {
            match statement {
                Some(statement) => Ok(db.execute(ctx, statement).await?.rows_affected),
                None => Ok(0),
            }
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
        insert.values_panic(inserted_values(self));
        let key = (!Self::KEY.generated).then(|| self.key());
        async move {
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
        let changes: Vec<(Alias, Value)> = Self::COLUMNS
            .iter()
            .zip(self.values())
            .filter(|(column, _)| !column.generated && column.name != Self::KEY.name)
            .map(|(column, value)| (Alias::new(column.name), value))
            .collect();
        let statement = (!changes.is_empty()).then(|| {
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
        });
        async move {
            match statement {
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

fn column_names<M: Model>() -> impl Iterator<Item = Alias> {
    M::COLUMNS.iter().map(|column| Alias::new(column.name))
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

fn inserted_values<M: Model>(model: &M) -> Vec<Expr> {
    M::COLUMNS
        .iter()
        .zip(model.values())
        .filter(|(column, _)| !column.generated)
        .map(|(_, value)| Expr::val(value))
        .collect()
}

fn key_is<M: Keyed>(key: M::Key) -> Filter<M> {
    Filter::new(Expr::col(Alias::new(M::KEY.name)).eq(key.into()))
}

/// A Rust type a model field may have: integers, `bool`, `f32`, `f64`, `String`,
/// `Vec<u8>`, and `Option` of any of these (SQL NULL).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a model field",
    label = "not a supported field type",
    note = "a model field is one of i8, i16, i32, i64, u8, u16, u32, u64, bool, f32, f64, \
            String, Vec<u8>, or an Option of one of them (NULL)",
    note = "a field that is not stored can be marked #[tethered(skip)]"
)]
pub trait Field: Into<Value> + Clone + Send + Sync + 'static {
    /// The type a column of this type is compared with: the field's own type, or `T` for
    /// `Option<T>` (compare with NULL through [`Column::is_null`]).
    type Compare;
}

/// A field's value for a statement. Called by generated code, where an unsupported field
/// type fails this bound with [`Field`]'s explanation.
#[doc(hidden)]
pub fn field_value<T: Field>(value: &T) -> Value {
    value.clone().into()
}

macro_rules! fields {
    ($($t:ty),*) => {$(
        impl Field for $t {
            type Compare = $t;
        }

        impl Field for Option<$t> {
            type Compare = $t;
        }
    )*};
}

crate::standard_types!(fields);

/// A value a column of Rust type `T` can be compared with: a `T`, and for text and bytes
/// their borrowed forms too (`&str` for a `String` column, `&[u8]` for a `Vec<u8>` one).
/// Numbers compare only with their own type, so a literal takes the column's type.
#[diagnostic::on_unimplemented(
    message = "a `{T}` column cannot be compared with `{Self}`",
    label = "not a `{T}`",
    note = "a filter compares a column with a value of the column's own Rust type"
)]
pub trait Comparable<T> {
    /// The value, for the statement.
    fn into_value(self) -> Value;
}

macro_rules! comparable_to_itself {
    ($($t:ty),*) => {$(
        impl Comparable<$t> for $t {
            fn into_value(self) -> Value {
                self.into()
            }
        }
    )*};
}

crate::standard_types!(comparable_to_itself);

impl Comparable<String> for &str {
    fn into_value(self) -> Value {
        self.into()
    }
}

impl Comparable<String> for &String {
    fn into_value(self) -> Value {
        self.as_str().into()
    }
}

impl Comparable<Vec<u8>> for &[u8] {
    fn into_value(self) -> Value {
        self.to_vec().into()
    }
}

impl<const N: usize> Comparable<Vec<u8>> for &[u8; N] {
    fn into_value(self) -> Value {
        self.to_vec().into()
    }
}

/// A typed handle on column `T` of model `M`: filters built from it compare only with
/// values of its Rust type, and only apply to queries on `M`.
pub struct Column<M, T> {
    name: &'static str,
    of: PhantomData<fn() -> (M, T)>,
}

impl<M, T> Clone for Column<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, T> Copy for Column<M, T> {}

impl<M, T> std::fmt::Debug for Column<M, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}

impl<M, T> Column<M, T> {
    /// The handle on column `name`. Generated by the derive.
    pub const fn new(name: &'static str) -> Column<M, T> {
        Column {
            name,
            of: PhantomData,
        }
    }
}

impl<M: Model, T: Field> Column<M, T> {
    /// The column's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    fn expr(self) -> Expr {
        Expr::col(Alias::new(self.name))
    }

    fn compare(value: impl Comparable<T::Compare>) -> Value {
        value.into_value()
    }

    /// `column = value`.
    pub fn eq(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().eq(Self::compare(value)))
    }

    /// `column <> value`.
    pub fn ne(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().ne(Self::compare(value)))
    }

    /// `column < value`.
    pub fn lt(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().lt(Self::compare(value)))
    }

    /// `column <= value`.
    pub fn le(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().lte(Self::compare(value)))
    }

    /// `column > value`.
    pub fn gt(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().gt(Self::compare(value)))
    }

    /// `column >= value`.
    pub fn ge(self, value: impl Comparable<T::Compare>) -> Filter<M> {
        Filter::new(self.expr().gte(Self::compare(value)))
    }

    /// `column IN (values...)`. An empty list matches nothing.
    pub fn is_in<V: Comparable<T::Compare>>(
        self,
        values: impl IntoIterator<Item = V>,
    ) -> Filter<M> {
        let values: Vec<Value> = values.into_iter().map(Self::compare).collect();
        if values.is_empty() {
            // Written as `FALSE`: sea-query's own form binds two constants whose type the
            // server cannot infer.
            return Filter {
                condition: Condition::any(),
                of: PhantomData,
            };
        }
        Filter::new(self.expr().is_in(values))
    }

    /// `column IS NULL`.
    pub fn is_null(self) -> Filter<M> {
        Filter::new(self.expr().is_null())
    }

    /// `column IS NOT NULL`.
    pub fn is_not_null(self) -> Filter<M> {
        Filter::new(self.expr().is_not_null())
    }

    /// `column LIKE pattern` (`%` and `_` are wildcards; the pattern is bound, never
    /// spliced into the SQL).
    pub fn like(self, pattern: impl Into<String>) -> Filter<M> {
        Filter::new(self.expr().like(pattern.into()))
    }

    /// Ascending order on this column.
    pub fn asc(self) -> Ordering<M> {
        Ordering::new(self.name, Order::Asc)
    }

    /// Descending order on this column.
    pub fn desc(self) -> Ordering<M> {
        Ordering::new(self.name, Order::Desc)
    }
}

/// A condition on the rows of model `M`; combine with [`Filter::and`], [`Filter::or`]
/// and `!`.
#[derive(Clone, Debug)]
pub struct Filter<M> {
    condition: Condition,
    of: PhantomData<fn() -> M>,
}

impl<M> Filter<M> {
    fn new(expr: Expr) -> Filter<M> {
        Filter {
            condition: Condition::all().add(expr),
            of: PhantomData,
        }
    }

    /// Both conditions.
    pub fn and(self, other: Filter<M>) -> Filter<M> {
        Filter {
            condition: Condition::all().add(self.condition).add(other.condition),
            of: PhantomData,
        }
    }

    /// Either condition.
    pub fn or(self, other: Filter<M>) -> Filter<M> {
        Filter {
            condition: Condition::any().add(self.condition).add(other.condition),
            of: PhantomData,
        }
    }
}

impl<M> std::ops::Not for Filter<M> {
    type Output = Filter<M>;

    fn not(self) -> Filter<M> {
        Filter {
            condition: self.condition.not(),
            of: PhantomData,
        }
    }
}

/// An order on model `M`'s rows: [`Column::asc`], [`Column::desc`].
#[derive(Clone, Copy, Debug)]
pub struct Ordering<M> {
    column: &'static str,
    order: OrderKind,
    of: PhantomData<fn() -> M>,
}

#[derive(Clone, Copy, Debug)]
enum OrderKind {
    Asc,
    Desc,
}

impl<M> Ordering<M> {
    fn new(column: &'static str, order: Order) -> Ordering<M> {
        let order = match order {
            Order::Desc => OrderKind::Desc,
            _ => OrderKind::Asc,
        };
        Ordering {
            column,
            order,
            of: PhantomData,
        }
    }
}

/// A query on model `M`'s table, built without sending anything; the terminals send it.
#[derive(Clone, Debug)]
pub struct Select<M> {
    statement: SelectStatement,
    of: PhantomData<fn() -> M>,
}

impl<M: Model> Select<M> {
    fn new() -> Select<M> {
        let mut statement = Query::select();
        statement
            .columns(column_names::<M>())
            .from(Alias::new(M::TABLE));
        Select {
            statement,
            of: PhantomData,
        }
    }

    /// Keeps the rows `filter` matches (several filters all apply).
    pub fn filter(mut self, filter: Filter<M>) -> Select<M> {
        self.statement.cond_where(filter.condition);
        self
    }

    /// Orders the rows (several orderings apply in turn).
    pub fn order_by(mut self, ordering: Ordering<M>) -> Select<M> {
        let order = match ordering.order {
            OrderKind::Asc => Order::Asc,
            OrderKind::Desc => Order::Desc,
        };
        self.statement.order_by(Alias::new(ordering.column), order);
        self
    }

    /// At most `limit` rows.
    pub fn limit(mut self, limit: u64) -> Select<M> {
        self.statement.limit(limit);
        self
    }

    /// Skips the first `offset` rows.
    pub fn offset(mut self, offset: u64) -> Select<M> {
        self.statement.offset(offset);
        self
    }

    /// Every matching row.
    pub fn all<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<Vec<M>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_all(ctx, self.statement)
    }

    /// The first matching row; [`Error::RowNotFound`] if none matches.
    pub fn one<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<M>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_one(ctx, self.limit(1).statement)
    }

    /// The first matching row, if any.
    pub fn optional<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<Option<M>>> + Send
    where
        D: Driver,
        E: Executor<D>,
        M: FromRow<RowOf<D>>,
    {
        db.fetch_optional(ctx, self.limit(1).statement)
    }

    /// How many rows match (limit and offset are ignored).
    pub fn count<D, E>(self, ctx: &Ctx, db: E) -> impl Future<Output = Result<u64>> + Send
    where
        D: Driver,
        E: Executor<D>,
        (i64,): FromRow<RowOf<D>>,
    {
        let mut count = self.statement;
        count
            .clear_selects()
            .clear_order_by()
            .reset_limit()
            .reset_offset()
            .expr(Expr::col(sea_query::Asterisk).count());
        async move {
            let (rows,): (i64,) = db.fetch_one(ctx, count).await?;
            u64::try_from(rows)
                .map_err(|_| Error::InvalidInput(format!("a negative count: {rows}")))
        }
    }
}
