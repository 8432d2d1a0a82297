//! The `http_service` example's application: HTTP handlers over a repository over a model,
//! with the request's context passed through every layer. Shared with the end-to-end
//! tests (`tests/tests/http.rs`), which start it in-process.
//!
//! When a client disconnects, hyper drops the handler's future; the request's context is
//! cancelled and the statement the repository was running stops in the database (on the
//! server, or in SQLite's engine). When the request's deadline passes, the statement stops too, and the client gets 504.
//!
//! Each repository keeps its table in a namespace of its own named
//! `http_service_<random hex>` (a PostgreSQL schema or a MariaDB database on the shared
//! server; on SQLite a directory in the temp directory holding the database file), so
//! services and tests running at once never share or drop each other's rows, and
//! [`Repository::remove`] leaves the machine as it found it.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tethered::PoolOptions;
use tethered::axum::{HttpError, RequestCtx, RequestCtxLayer, RequestId};
use tethered::prelude::*;
use tethered::sea_query::{Alias, ColumnDef, Table};

#[path = "../common/backend.rs"]
pub mod backend;
pub use backend::Backend;
use backend::{Db, on_pool};
#[path = "namespace.rs"]
mod namespace;
use namespace::unique;

/// A user, stored in `http_service_users` in the repository's namespace; names are unique.
#[derive(Model, Serialize, Clone, Debug, PartialEq)]
#[tethered(table = "http_service_users")]
pub struct User {
    #[tethered(primary_key, auto_increment)]
    pub id: i64,
    pub name: String,
}

/// The longest sleep `/slow` runs.
const MAX_SLEEP_SECS: f64 = 3600.0;

/// The repository: every method that reaches the database takes the caller's `&Ctx` first
/// (checked at compile time by `#[context_first]`) and runs under it.
pub struct Repository {
    db: Db,
    namespace: String,
}

#[context_first]
impl Repository {
    /// Creates a namespace of its own on `backend` and opens a pool in it, within `ctx`.
    pub async fn connect(ctx: &Ctx, backend: Backend) -> Result<Repository> {
        let namespace = unique("http_service");
        let db = Db::create_in(ctx, backend, &namespace, PoolOptions::default()).await?;
        Ok(Repository { db, namespace })
    }

    /// Creates the users' table, with a first user.
    pub async fn set_up(&self, ctx: &Ctx) -> Result<()> {
        self.create_table(ctx).await?;
        self.add_user(ctx, "Ada Lovelace").await?;
        Ok(())
    }

    /// Drops the repository's namespace, its table and its rows.
    pub async fn remove(&self, ctx: &Ctx) -> Result<()> {
        self.db.drop_namespace(ctx, &self.namespace).await
    }

    async fn create_table(&self, ctx: &Ctx) -> Result<()> {
        let create = Table::create()
            .table(Alias::new(User::TABLE))
            .col(
                ColumnDef::new(Alias::new(User::ID.name()))
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Alias::new(User::NAME.name()))
                    .string_len(200)
                    .not_null()
                    .unique_key(),
            )
            .to_owned();
        on_pool!(&self.db, pool => pool.execute(ctx, &create).await)?;
        Ok(())
    }

    /// Stores a user named `name`; returns it with its id. A name already taken is a
    /// unique violation ([`Error::is_unique_violation`]).
    pub async fn add_user(&self, ctx: &Ctx, name: &str) -> Result<User> {
        let user = User {
            id: 0,
            name: name.to_owned(),
        };
        on_pool!(&self.db, pool => user.insert(ctx, pool).await)
    }

    /// The user with id `id`; [`Error::RowNotFound`] if there is none.
    pub async fn user(&self, ctx: &Ctx, id: i64) -> Result<User> {
        on_pool!(&self.db, pool => User::find(ctx, pool, id).await)?.ok_or(Error::RowNotFound {
            table: Some(User::TABLE),
        })
    }

    /// Sleeps `secs` seconds on the database server: a stand-in for a slow query.
    ///
    /// The statement carries the request id in a comment (on SQLite, in the label its
    /// naps tick), so the server's own view (`pg_stat_activity`,
    /// `information_schema.PROCESSLIST`, SQLite's counters) tells which request it serves.
    /// That gives each request its own statement text, so tag slow, rare statements like
    /// this one, not hot ones.
    pub async fn sleep(&self, ctx: &Ctx, secs: f64) -> Result<()> {
        if !(0.0..=MAX_SLEEP_SECS).contains(&secs) {
            return Err(Error::InvalidInput(format!(
                "secs must be between 0 and {MAX_SLEEP_SECS}, not {secs}"
            )));
        }
        // A request id is letters, digits and `-_.:` only: a label `Db::sleep` takes.
        let label = ctx
            .value::<RequestId>()
            .map_or("http_service".to_owned(), |request_id| {
                format!("http_service request {request_id}")
            });
        self.db.sleep(ctx, secs, &label).await
    }
}

/// The service's routes, each request under a context from `layer`.
pub fn router(repository: Arc<Repository>, layer: RequestCtxLayer) -> Router {
    Router::new()
        .route("/users", axum::routing::post(add_user))
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .with_state(repository)
        .layer(layer)
}

/// `GET /users/{id}`: the user as JSON, or 404.
async fn user(
    RequestCtx(ctx): RequestCtx,
    State(repository): State<Arc<Repository>>,
    Path(id): Path<i64>,
) -> Result<Json<User>, HttpError> {
    Ok(Json(repository.user(&ctx, id).await?))
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
}

/// `POST /users` with `{"name": "..."}`: 201 and the stored user as JSON, or 409 Conflict
/// if the name is taken (the database's unique constraint says so, whatever the backend).
async fn add_user(
    RequestCtx(ctx): RequestCtx,
    State(repository): State<Arc<Repository>>,
    Json(new): Json<NewUser>,
) -> Result<(StatusCode, Json<User>), HttpError> {
    let user = repository.add_user(&ctx, &new.name).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize)]
struct SlowQuery {
    secs: f64,
}

#[derive(Serialize)]
struct Slept {
    slept_secs: f64,
    request_id: Option<String>,
}

/// `GET /slow?secs=N`: sleeps N seconds on the database server, within the request's
/// deadline.
async fn slow(
    RequestCtx(ctx): RequestCtx,
    State(repository): State<Arc<Repository>>,
    Query(query): Query<SlowQuery>,
) -> Result<Json<Slept>, HttpError> {
    repository.sleep(&ctx, query.secs).await?;
    Ok(Json(Slept {
        slept_secs: query.secs,
        request_id: ctx.value::<RequestId>().map(ToString::to_string),
    }))
}
