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

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
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
        // Before the pool: it registers its metrics with the recorder installed when it is
        // made.
        metrics();
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
    /// MariaDB's `SHOW PROCESSLIST`, SQLite's counters) tells which request it serves.
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

    /// The statements running on the repository's pool, or being stopped.
    pub fn in_flight(&self) -> Vec<tethered::InFlightStatement> {
        on_pool!(&self.db, pool => pool.in_flight())
    }
}

/// The process's Prometheus recorder, installed on first use: tethered's metrics (and any
/// other crate's) go to it, and `/metrics` renders it.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Buckets, so durations are exported as histograms rather than summaries.
        const SECONDS: [f64; 12] = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
        ];
        PrometheusBuilder::new()
            .set_buckets(&SECONDS)
            .expect("non-empty buckets")
            .install_recorder()
            .expect("no other metrics recorder is installed in this process")
    })
}

/// The service's routes, each request under a context from `layer` but `/metrics`, which
/// reaches no database.
pub fn router(repository: Arc<Repository>, layer: RequestCtxLayer) -> Router {
    Router::new()
        .route("/users", axum::routing::post(add_user))
        .route("/users/{id}", get(user))
        .route("/slow", get(slow))
        .route("/debug/in-flight", get(in_flight))
        .with_state(repository)
        .layer(layer)
        .route("/metrics", get(prometheus))
}

/// `GET /metrics`: every metric, in Prometheus's text format.
async fn prometheus() -> String {
    let handle = metrics();
    handle.run_upkeep();
    handle.render()
}

/// One statement of `GET /debug/in-flight`.
#[derive(Serialize)]
struct InFlight {
    summary: String,
    text: String,
    state: &'static str,
    age_ms: f64,
    deadline_remaining_ms: Option<f64>,
    request_id: Option<String>,
}

/// `GET /debug/in-flight`.
#[derive(Serialize)]
struct Board {
    /// The requests' scopes alive (this one's included), and the oldest one's age: a
    /// request context held long after its response shows here.
    live_scopes: usize,
    oldest_scope_age_ms: Option<f64>,
    statements: Vec<InFlight>,
}

/// `GET /debug/in-flight`: every statement running on the pool, or being stopped, oldest
/// first, as JSON (what it is, for how long, its deadline and its request), and the
/// requests' scopes alive.
async fn in_flight(
    RequestCtx(ctx): RequestCtx,
    State(repository): State<Arc<Repository>>,
) -> Json<Board> {
    let ms = |duration: std::time::Duration| duration.as_secs_f64() * 1000.0;
    let statements = repository
        .in_flight()
        .into_iter()
        .map(|statement| InFlight {
            summary: statement.summary,
            text: statement.text,
            state: statement.state.as_str(),
            age_ms: ms(statement.age),
            deadline_remaining_ms: statement.deadline_remaining.map(ms),
            request_id: statement.request_id.map(|id| id.to_string()),
        });
    let scopes = ctx.live_scopes();
    Json(Board {
        live_scopes: scopes.count,
        oldest_scope_age_ms: scopes.oldest_age.map(ms),
        statements: statements.collect(),
    })
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
