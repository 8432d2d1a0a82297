//! Contexts across gRPC, for tonic (feature `grpc`).
//!
//! - Servers: [`RequestCtxLayer`] around tonic's routes gives each call a context whose
//!   deadline is the call's `grpc-timeout` (capped by the layer's maximum, less a reply
//!   margin: see [`RequestCtxLayer::grpc_reply_margin`]), cancelled when the client cancels
//!   the call or the connection drops (the HTTP/2 stream is reset, and the handler's future
//!   is dropped). Handlers take it with [`request_ctx`]; every statement run under it stops
//!   on the database server. Serve the routes with axum
//!   (`Routes::new(svc).into_axum_router().layer(RequestCtxLayer::new(root))`, axum's
//!   `http2` feature): tonic's own `Server` also enforces `grpc-timeout` itself, outside
//!   every layer, and answers `CANCELLED` ("Timeout expired") when it fires first; under
//!   `Server::builder().layer(..)` the layer works, but a call can end that way.
//! - Errors: [`status`] turns a tethered [`Error`] into the [`Status`] that says what
//!   happened (see [`code_for`]), so handlers write `.map_err(grpc::status)?`.
//! - Clients: [`outgoing`] makes the request for a call made on a context's behalf: its
//!   `grpc-timeout` is the time the context has left, and it carries the trace
//!   (`traceparent`) and the request id, so a chain of services shares one deadline and one
//!   trace.
//!
//! ```
//! use tethered::grpc::{request_ctx, status};
//! use tethered::postgres::PgPool;
//! use tethered::prelude::*;
//!
//! // The body of a tonic service method: `request` is the call's `tonic::Request`.
//! async fn count_orders(db: &PgPool, request: tonic::Request<()>) -> Result<tonic::Response<i64>, tonic::Status> {
//!     let ctx = request_ctx(&request)?;
//!     let (count,): (i64,) = db.fetch_one(ctx, "SELECT count(*) FROM orders").await.map_err(status)?;
//!     Ok(tonic::Response::new(count))
//! }
//! ```

use tonic::{Code, Request, Status};

use crate::axum::{RequestCtx, propagate_context};
use crate::{Cause, Ctx, DatabaseErrorKind, Error, StatementOutcome};

pub use crate::axum::RequestCtxLayer;

/// The call's context, as [`RequestCtxLayer`] made it; `Status::internal` if the server
/// has no such layer (a setup mistake, said as such).
pub fn request_ctx<T>(request: &Request<T>) -> Result<&Ctx, Status> {
    request
        .extensions()
        .get::<RequestCtx>()
        .map(|request_ctx| &request_ctx.0)
        .ok_or_else(|| {
            Status::internal(
                "no request context: add tethered::grpc::RequestCtxLayer to the tonic server \
                 (Server::builder().layer(RequestCtxLayer::new(root)))",
            )
        })
}

/// The gRPC code for `error`:
///
/// | error | code |
/// |---|---|
/// | `Canceled` by the deadline | `DEADLINE_EXCEEDED` |
/// | `Canceled` otherwise (the client went away, a scope was cancelled) | `CANCELLED` |
/// | `PoolTimedOut`, `PoolClosed`, `Connection` | `UNAVAILABLE` |
/// | `RowNotFound` | `NOT_FOUND` |
/// | `InvalidInput` | `INVALID_ARGUMENT` |
/// | a unique violation | `ALREADY_EXISTS` |
/// | a foreign key violation | `FAILED_PRECONDITION` |
/// | a deadlock, a serialization failure, a lock timeout | `ABORTED` (retry the transaction) |
/// | anything else | `INTERNAL` |
pub fn code_for(error: &Error) -> Code {
    match error {
        Error::Canceled {
            cause: Cause::DeadlineExceeded,
            ..
        } => Code::DeadlineExceeded,
        Error::Canceled { .. } => Code::Cancelled,
        Error::PoolTimedOut { .. } | Error::PoolClosed | Error::Connection { .. } => {
            Code::Unavailable
        }
        Error::RowNotFound { .. } => Code::NotFound,
        Error::InvalidInput(_) => Code::InvalidArgument,
        Error::Database(database) => match database.kind() {
            DatabaseErrorKind::UniqueViolation => Code::AlreadyExists,
            DatabaseErrorKind::ForeignKeyViolation => Code::FailedPrecondition,
            kind if kind.is_retryable() => Code::Aborted,
            DatabaseErrorKind::LockTimeout => Code::Aborted,
            _ => Code::Internal,
        },
        _ => Code::Internal,
    }
}

/// `error` as a [`Status`] with the code of [`code_for`] and tethered's message. The
/// message of an internal error is the error's own, as a server log would show it:
/// tethered's errors name tables, columns and constraints, never bound values.
pub fn status(error: impl Into<Error>) -> Status {
    let error = error.into();
    Status::new(code_for(&error), error.to_string())
}

/// A request for a call made on `ctx`'s behalf, carrying `message`: its `grpc-timeout` is
/// what `ctx` has left (none without a deadline), and it carries `ctx`'s trace
/// (`traceparent`, naming this service's span as the parent) and request id when it has
/// them ([`propagate_context`]).
///
/// A context that has already ended sends nothing: the error is the status its cause
/// calls for (`DEADLINE_EXCEEDED` or `CANCELLED`). Call it right before the call: the time
/// left is measured now.
pub fn outgoing<T>(ctx: &Ctx, message: T) -> Result<Request<T>, Status> {
    if let Err(cause) = ctx.check() {
        return Err(status(Error::Canceled {
            cause,
            outcome: StatementOutcome::NotSent,
        }));
    }
    let mut request = Request::new(message);
    propagate_context(ctx, request.metadata_mut().as_mut());
    Ok(request)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn errors_map_to_the_codes_that_say_what_happened() {
        let canceled = |cause| Error::Canceled {
            cause,
            outcome: StatementOutcome::Stopped,
        };
        let cases = [
            (canceled(Cause::DeadlineExceeded), Code::DeadlineExceeded),
            (
                canceled(Cause::Canceled {
                    reason: "client disconnected".into(),
                }),
                Code::Cancelled,
            ),
            (Error::PoolClosed, Code::Unavailable),
            (Error::InvalidInput("bad".into()), Code::InvalidArgument),
        ];
        for (error, code) in cases {
            assert_eq!(status(error).code(), code);
        }
    }

    #[test]
    fn an_outgoing_call_carries_the_time_left_and_an_ended_context_sends_nothing() {
        let scope = Ctx::background().with_timeout(Duration::from_secs(2));
        let request = outgoing(&scope, ()).expect("a live context");
        let timeout = request.metadata().get("grpc-timeout").expect("a timeout");
        assert!(timeout.to_str().unwrap().ends_with('u'), "{timeout:?}");
        assert!(request.metadata().get("traceparent").is_none());
        scope.cancel("done");
        let refused = outgoing(&scope, ()).expect_err("an ended context");
        assert_eq!(refused.code(), Code::Cancelled);
    }
}
