//! The macros, re-exported with the documentation of what they generate.

/// Maps a struct with named fields to a table.
///
/// ```
/// use tethered::Model;
///
/// #[derive(Model, Debug)]
/// #[tethered(table = "users")]
/// struct User {
///     #[tethered(primary_key, auto_increment)]
///     id: i64,
///     #[tethered(column = "email_address")]
///     email: String,
///     nickname: Option<String>,
///     #[tethered(skip)]
///     login_count: u32,
/// }
/// ```
///
/// # Attributes
///
/// | where | attribute | meaning |
/// |---|---|---|
/// | struct | `table = "name"` | the table (default: the struct's name in snake case) |
/// | field | `primary_key` | the primary key (one per model; composite keys are refused) |
/// | field | `auto_increment` | filled in by the database: never inserted or updated |
/// | field | `column = "name"` | the column (default: the field's name) |
/// | field | `skip` | not stored: read back as `Default::default()` |
///
/// Every mistake is reported at once, at the attribute or field at fault: an unknown or
/// duplicated attribute, two primary keys, a skipped primary key, a nullable primary key,
/// a column mapped twice, and field types that cannot be stored (see [`Field`](crate::Field)).
///
/// # What it generates
///
/// - [`Model`](trait@crate::Model): the table and columns. It brings
///   [`Model::query`](crate::Model::query) (a [`Select`](crate::Select): `filter`, `order_by`,
///   `limit`, `offset`, then `all`, `one`, `optional`, `count`),
///   [`Model::insert_many`](crate::Model::insert_many) and
///   [`Model::delete_where`](crate::Model::delete_where); on PostgreSQL,
///   `tethered::postgres::CopyIn` adds `copy_in`, the same batch in one `COPY`.
/// - [`Keyed`](crate::Keyed), with a primary key, which enables
///   [`Model::find`](crate::Model::find), [`Model::insert`](crate::Model::insert) (returning
///   the stored row, with its generated key), [`Model::update`](crate::Model::update),
///   [`Model::delete`](crate::Model::delete) and
///   [`Model::delete_by_key`](crate::Model::delete_by_key). On a model without one, calling
///   them does not compile: "`Event` has no primary key".
/// - [`FromRow`](crate::FromRow) for the rows of every backend whose types it can decode,
///   by column name.
/// - A typed [`Column`](crate::Column) handle per stored field, named after it in upper
///   case (`User::ID`, `User::EMAIL`, `User::NICKNAME`): `User::EMAIL.eq("a@b.c")` compiles,
///   `User::ID.eq("x")` does not.
///
/// Every method that sends anything takes the `&Ctx` first, then the executor (`&pool`,
/// `&mut connection` or `&mut transaction`):
///
/// ```no_run
/// # use tethered::{Ctx, Model, Result};
/// # #[derive(Model, Debug)]
/// # #[tethered(table = "users")]
/// # struct User {
/// #     #[tethered(primary_key, auto_increment)]
/// #     id: i64,
/// #     email: String,
/// # }
/// # #[cfg(feature = "postgres")]
/// async fn users(ctx: &Ctx, db: &tethered::postgres::PgPool) -> Result<()> {
///     let ada = User { id: 0, email: "ada@example.com".into() }.insert(ctx, db).await?;
///     let found = User::find(ctx, db, ada.id).await?;
///     let some = User::query()
///         .filter(User::EMAIL.like("%@example.com"))
///         .order_by(User::ID.desc())
///         .limit(10)
///         .all(ctx, db)
///         .await?;
///     Ok(())
/// }
/// ```
pub use tethered_macros::Model;

/// Stores a fieldless enum in a column, so it can be a model field (or an `Option` of
/// one), a filter value, a bound value and a decoded column (`row.try_get_field::<E>(..)`).
///
/// - Text-backed (the default): each variant is stored as its name, or as
///   `#[tethered(rename = "...")]`, or in the case `#[tethered(rename_all = "...")]` gives
///   (`lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`,
///   `SCREAMING_SNAKE_CASE`, `kebab-case`, `SCREAMING-KEBAB-CASE`). Use a text column, a
///   MySQL/MariaDB `ENUM`, or a PostgreSQL enum type (`CREATE TYPE status AS ENUM (...)`):
///   values are bound as text of the type the server expects, and read from any of them.
/// - Integer-backed: with `#[repr(i32)]` (or `i8`, `i16`, `i64`, `u8`, `u16`, `u32`), each
///   variant is stored as its discriminant, in an integer column.
///
/// A stored value that is none of the variants is a decode error naming the column and the
/// value.
///
/// ```
/// use tethered::{Enum, Model};
///
/// #[derive(Enum, Clone, Copy, Debug, PartialEq)]
/// #[tethered(rename_all = "snake_case")]
/// enum Status {
///     Active,
///     OnHold,
///     #[tethered(rename = "gone")]
///     Archived,
/// }
///
/// #[derive(Enum, Clone, Copy, Debug, PartialEq)]
/// #[repr(i16)]
/// enum Priority {
///     Low = 1,
///     High = 10,
/// }
///
/// #[derive(Model)]
/// struct Task {
///     #[tethered(primary_key, auto_increment)]
///     id: i64,
///     status: Status,
///     priority: Option<Priority>,
/// }
///
/// let open = Task::STATUS.ne(Status::Archived);
/// ```
pub use tethered_macros::Enum;
/// Reads a struct that is not a table — a report row, the columns of a join — from a row,
/// each field from the column of its name.
///
/// ```
/// use tethered::FromRow;
///
/// #[derive(FromRow, Debug)]
/// struct Sales {
///     region: String,
///     #[tethered(rename = "sum_cents")]
///     total_cents: i64,
///     best_customer: Option<String>,
///     // A column some report queries leave out.
///     #[tethered(default)]
///     refunds: i64,
///     #[tethered(default = "Sales::no_currency")]
///     currency: String,
/// }
///
/// impl Sales {
///     fn no_currency() -> String {
///         "EUR".to_owned()
///     }
/// }
/// ```
///
/// ```no_run
/// # use tethered::{Ctx, Executor, FromRow, Result};
/// # #[derive(FromRow)]
/// # struct Sales { region: String, sum_cents: i64 }
/// # #[cfg(feature = "postgres")]
/// async fn sales(ctx: &Ctx, db: &tethered::postgres::PgPool) -> Result<Vec<Sales>> {
///     db.fetch_all(
///         ctx,
///         "SELECT c.region, CAST(SUM(o.cents) AS BIGINT) AS sum_cents \
///          FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.region",
///     )
///     .await
/// }
/// ```
///
/// # Attributes
///
/// | where | attribute | meaning |
/// |---|---|---|
/// | field | `rename = "name"` | the column (default: the field's name) |
/// | field | `default` | a column missing from the row gives `Default::default()` |
/// | field | `default = "path"` | a column missing from the row gives what the function at `path` returns |
/// | struct | `default` | a column missing from the row gives the field's value in `Self::default()` (the struct must implement `Default`); a field's own `default` comes first |
///
/// Only a column missing from the row takes a default ([`Error::is_missing_column`](crate::Error::is_missing_column)):
/// NULL is read into an `Option` field as `None`, and into any other field it is an
/// [`Error::Decode`](crate::Error::Decode) naming the column, as is a value of another type.
///
/// Every mistake is reported at once, at the attribute or field at fault: a tuple struct,
/// an enum or a union, an unknown or duplicated attribute, a `#[derive(Model)]` attribute
/// (`column` is spelt `rename` here), two fields reading the same column, a `default` that
/// is not a path.
///
/// # What it generates
///
/// `impl<R: Row + Decodes<Field1> + Decodes<Field2> + ...> FromRow<R>`: the struct is read
/// from the rows of every backend that decodes its field types, so code generic over the
/// backend needs no bounds for the standard types. A generic struct gets the same bounds on
/// its type parameters' fields. Each column is looked for at the field's position first
/// (report queries mostly select in the struct's order), then by name.
///
/// For columns by position, read a tuple instead: `(i64, String)`, up to 16 columns.
pub use tethered_macros::FromRow;

/// Refuses to compile an async function, or the async functions of an impl block or a
/// trait, whose first parameter (after `self`) is not `&Ctx` — for users' own services and
/// repositories, the convention Go leaves to linters.
///
/// ```
/// use tethered::{context_first, Ctx, Result};
///
/// struct Repository;
///
/// #[context_first]
/// impl Repository {
///     async fn load(&self, ctx: &Ctx, id: i64) -> Result<i64> {
///         ctx.check()?;
///         Ok(id)
///     }
///
///     // Not async: cannot run a query, so not checked.
///     fn name(&self) -> &str {
///         "repository"
///     }
/// }
/// ```
///
/// The error points at the offending parameter and says why: `Ctx` by value, `&mut Ctx`,
/// another type first, or no context at all.
///
/// Inside the functions it marks (every body, async or not, closures included), a context
/// made from nothing is refused too: `Ctx::background()` there would drop the request's
/// cancellation and deadline (what Go's `contextcheck` lint finds). Derive from the
/// parameter (`ctx.child()`, `ctx.with_timeout(..)`); for work that must outlive the
/// request, detach by name with [`Ctx::without_cancel`], which keeps the request's values.
/// Code inside macro invocations (`println!`, `tokio::select!`) is tokens the attribute
/// cannot read, and is not checked.
///
/// [`Ctx::without_cancel`]: crate::Ctx::without_cancel
pub use tethered_macros::context_first;
