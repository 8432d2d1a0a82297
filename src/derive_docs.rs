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
///   [`Model::delete_where`](crate::Model::delete_where).
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
pub use tethered_macros::context_first;
