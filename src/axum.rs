//! A [`Ctx`](crate::Ctx) per HTTP request, for axum (feature `axum`).
//!
//! - [`RequestCtxLayer`] gives each request a context derived from a root. It ends when the
//!   request does: its deadline passes (taken from `grpc-timeout` or `X-Request-Timeout`,
//!   capped by a server-side maximum), or the client disconnects — hyper then drops the
//!   handler's future, and the layer cancels the context with [`CLIENT_DISCONNECTED`]. Every
//!   statement run under it stops on the database server.
//! - [`RequestCtx`] is the extractor handlers take the context with. It carries a
//!   [`RequestId`] value (the client's `x-request-id`, or a generated one).
//! - [`HttpError`] turns a tethered [`Error`](crate::Error) into a response with the status
//!   that says what happened (504, 499, 503, 409, 404, 400, 500; see [`status_for`]), so
//!   handlers return `Result<_, HttpError>` and use `?`.
//! - [`propagate_deadline`] writes what is left of a context's deadline into the headers of
//!   an outgoing request, so a chain of services shares one budget; [`propagate_context`]
//!   adds the trace ([`TraceContext`], W3C `traceparent`) and the request id, so the chain
//!   is also one trace.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use tethered::Ctx;
//! use tethered::axum::{HttpError, RequestCtx, RequestCtxLayer};
//!
//! async fn hello(RequestCtx(ctx): RequestCtx) -> Result<String, HttpError> {
//!     ctx.check()?; // or run statements under `&ctx`
//!     Ok(format!("{:?} left", ctx.remaining()))
//! }
//!
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .layer(RequestCtxLayer::new(Ctx::background()).max_timeout(Duration::from_secs(10)));
//! ```
//!
//! # Stage budgets inside one request
//!
//! A request often has stages that deserve budgets of their own: waiting for a row lock
//! should fail fast, while the writes that follow may take longer. Derive a child context
//! per stage with [`Ctx::with_timeout`](crate::Ctx::with_timeout). A child's deadline is the
//! earlier of its own and its parent's, so a stage can shorten the request's budget but
//! never extend it:
//!
//! ```
//! use std::time::Duration;
//! use tethered::Ctx;
//!
//! let root = Ctx::background();
//! let request = root.with_timeout(Duration::from_secs(2)); // what the layer derives
//! let lock_wait = request.with_timeout(Duration::from_millis(200));
//! let writes = request.with_timeout(Duration::from_secs(5)); // asks for more than is left
//!
//! assert!(lock_wait.deadline() < request.deadline()); // a shorter stage keeps its own
//! assert_eq!(writes.deadline(), request.deadline()); // a longer one gets what is left
//! ```
//!
//! The long transaction in stages: one transaction, three budgets, one request deadline
//! over them all. Whichever ends first stops the statement running at that moment on the
//! server, and the transaction is rolled back.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # mod example {
//! use std::time::Duration;
//! use tethered::postgres::PgPool;
//! use tethered::prelude::*;
//!
//! /// Moves `quantity` items from one shelf to another.
//! async fn restock(ctx: &Ctx, db: &PgPool, from: i64, to: i64, quantity: i64) -> Result<()> {
//!     // The transaction lives under the request's context: if the request ends, the
//!     // next statement or the commit rolls it back instead.
//!     let mut tx = db.begin(ctx).await?;
//!
//!     // Stage 1: the row locks within 200 ms, or give up rather than queue behind a
//!     // long writer. The stage's scope ends at the end of the block.
//!     {
//!         let locking = ctx.with_timeout(Duration::from_millis(200));
//!         let lock = Sql::new("SELECT id FROM shelves WHERE id IN ($1, $2) FOR UPDATE")
//!             .bind(from)
//!             .bind(to);
//!         tx.execute(&locking, lock).await?;
//!     }
//!
//!     // Stage 2: the writes may take 5 s, but never longer than the request has left.
//!     {
//!         let writing = ctx.with_timeout(Duration::from_secs(5));
//!         let take = Sql::new("UPDATE shelves SET stock = stock - $1 WHERE id = $2")
//!             .bind(quantity)
//!             .bind(from);
//!         tx.execute(&writing, take).await?;
//!         let put = Sql::new("UPDATE shelves SET stock = stock + $1 WHERE id = $2")
//!             .bind(quantity)
//!             .bind(to);
//!         tx.execute(&writing, put).await?;
//!     }
//!
//!     // Stage 3: the commit gets whatever the request has left.
//!     tx.commit(ctx).await
//! }
//! # }
//! ```

mod deadline_headers;
mod layer;
mod propagate;
mod request_id;
mod response;
mod trace_context;

pub use deadline_headers::{GRPC_TIMEOUT, X_REQUEST_TIMEOUT, propagate_deadline};
pub use layer::{
    CLIENT_DISCONNECTED, DEFAULT_GRPC_REPLY_MARGIN, DEFAULT_MAX_TIMEOUT, MissingRequestCtx,
    RequestCtx, RequestCtxLayer, RequestCtxService, ResponseFuture,
};
pub use propagate::propagate_context;
pub use request_id::{RequestId, X_REQUEST_ID};
pub use response::{CLIENT_CLOSED_REQUEST, HttpError, RETRY_AFTER_CONFLICT_SECS, status_for};
pub use trace_context::{TRACEPARENT, TraceContext};
