//! tethered's errors as HTTP responses.

use std::fmt;
use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::{Cause, DatabaseErrorKind, Error};

/// 499 Client Closed Request (nginx's convention): the client went away before the
/// response was ready. No client will read it; it is for logs and metrics.
pub const CLIENT_CLOSED_REQUEST: StatusCode = match StatusCode::from_u16(499) {
    Ok(status) => status,
    Err(_) => panic!("499 is a valid status code"),
};

/// The status that says what became of a request that failed with `error`:
///
/// | error | status |
/// |---|---|
/// | the context's deadline passed ([`Error::is_deadline_exceeded`]) | 504 Gateway Timeout |
/// | the context was cancelled — under [`RequestCtxLayer`](super::RequestCtxLayer), by a client disconnect | 499 [`CLIENT_CLOSED_REQUEST`] |
/// | no pooled connection in time, the pool closed, a lost connection | 503 Service Unavailable |
/// | a deadlock or a serialization failure ([`Error::is_retryable`]) | 503 Service Unavailable, with `Retry-After` |
/// | a unique or foreign key violation ([`Error::is_unique_violation`], [`Error::is_foreign_key_violation`]) | 409 Conflict |
/// | [`Error::RowNotFound`] | 404 Not Found |
/// | [`Error::InvalidInput`] | 400 Bad Request |
/// | anything else (other server errors, decoding) | 500 Internal Server Error |
///
/// A NOT NULL or check violation stays 500: it says the application sent what its schema
/// refuses, which validation should have caught, not that the client's request conflicts
/// with the data.
///
/// A cancellation is 499 whatever its reason: reasons are free text, and under the layer a
/// request's context is cancelled by the client going away (or by cancelling the root it
/// was derived from, at shutdown, when no client waits for the answer either).
pub fn status_for(error: &Error) -> StatusCode {
    match error {
        Error::Canceled {
            cause: Cause::DeadlineExceeded,
            ..
        } => StatusCode::GATEWAY_TIMEOUT,
        Error::Canceled { .. } => CLIENT_CLOSED_REQUEST,
        Error::PoolTimedOut { .. } | Error::PoolClosed | Error::Connection { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        Error::RowNotFound { .. } => StatusCode::NOT_FOUND,
        Error::InvalidInput(_) => StatusCode::BAD_REQUEST,
        Error::Database(database) => match database.kind() {
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation => {
                StatusCode::CONFLICT
            }
            kind if kind.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        },
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The `Retry-After` of a 503 for a deadlock or a serialization failure, in seconds: the
/// conflicting transaction has usually ended by then (the server already rolled this one
/// back), and a whole second keeps a herd of clients from colliding again at once.
pub const RETRY_AFTER_CONFLICT_SECS: u32 = 1;

/// A tethered [`Error`] as a handler's error: return `Result<_, HttpError>` and use `?` on
/// tethered's results (and on [`Ctx::check`](crate::Ctx::check)).
///
/// The response has the status of [`status_for`] and a plain-text body: the error's
/// message, except for server errors, whose text (table names, SQL, other rows' values in
/// a duplicate key's message) must not reach clients: 500's body is only "internal server
/// error", 409's and the retryable 503's say what happened in general words. A retryable
/// 503 carries `Retry-After` ([`RETRY_AFTER_CONFLICT_SECS`]). The full error is always kept
/// in the response's extensions as an `Arc<tethered::Error>`, for a logging middleware to
/// find.
///
/// ```
/// use axum::extract::Path;
/// use tethered::axum::{HttpError, RequestCtx};
/// use tethered::Error;
///
/// async fn user(RequestCtx(ctx): RequestCtx, Path(id): Path<i64>) -> Result<String, HttpError> {
///     ctx.check()?;
///     if id <= 0 {
///         return Err(Error::InvalidInput(format!("no user has id {id}")).into());
///     }
///     Ok(format!("user {id}"))
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(user);
/// ```
#[derive(Debug)]
pub struct HttpError(pub Error);

impl HttpError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        status_for(&self.0)
    }
}

impl From<Error> for HttpError {
    fn from(error: Error) -> HttpError {
        HttpError(error)
    }
}

impl From<Cause> for HttpError {
    /// A context found ended before anything was sent.
    fn from(cause: Cause) -> HttpError {
        HttpError(cause.into())
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retryable = self.0.is_retryable();
        let body = match status {
            StatusCode::INTERNAL_SERVER_ERROR => "internal server error".to_owned(),
            StatusCode::CONFLICT => "the request conflicts with the stored data".to_owned(),
            _ if retryable => {
                "the request collided with another one and was rolled back; try again".to_owned()
            }
            _ => self.0.to_string(),
        };
        let mut response = (status, body).into_response();
        if retryable {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(RETRY_AFTER_CONFLICT_SECS),
            );
        }
        response.extensions_mut().insert(Arc::new(self.0));
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{DatabaseError, StatementOutcome};

    fn server(kind: DatabaseErrorKind) -> Error {
        DatabaseError::new(
            "23000",
            "Duplicate entry 'secret@example.com' for key 'email'",
        )
        .with_kind(kind)
        .into()
    }

    fn canceled(cause: Cause) -> Error {
        Error::Canceled {
            cause,
            outcome: StatementOutcome::Stopped,
        }
    }

    #[test]
    fn every_kind_of_error_has_its_status() {
        let cases = [
            (canceled(Cause::DeadlineExceeded), 504),
            (
                canceled(Cause::Canceled {
                    reason: super::super::CLIENT_DISCONNECTED.into(),
                }),
                499,
            ),
            (
                canceled(Cause::Canceled {
                    reason: "anything".into(),
                }),
                499,
            ),
            (
                Error::PoolTimedOut {
                    waited: Duration::from_secs(1),
                },
                503,
            ),
            (Error::PoolClosed, 503),
            (Error::connection("lost", None), 503),
            (Error::RowNotFound { table: None }, 404),
            (Error::InvalidInput("bad".into()), 400),
            (DatabaseError::new("42P01", "no such table").into(), 500),
            (server(DatabaseErrorKind::UniqueViolation), 409),
            (server(DatabaseErrorKind::ForeignKeyViolation), 409),
            (server(DatabaseErrorKind::Deadlock), 503),
            (server(DatabaseErrorKind::SerializationFailure), 503),
            (server(DatabaseErrorKind::NotNullViolation), 500),
            (server(DatabaseErrorKind::CheckViolation), 500),
            (server(DatabaseErrorKind::LockTimeout), 500),
            (
                Error::decode(crate::ColumnRef::Index(0), "i64", "text"),
                500,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(status_for(&error).as_u16(), status, "{error}");
        }
    }

    #[test]
    fn a_context_found_ended_is_answered_by_its_cause() {
        assert_eq!(
            HttpError::from(Cause::DeadlineExceeded).status(),
            StatusCode::GATEWAY_TIMEOUT
        );
    }

    #[tokio::test]
    async fn responses_explain_except_server_errors() {
        let timed_out = HttpError(canceled(Cause::DeadlineExceeded)).into_response();
        assert_eq!(timed_out.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            body(timed_out).await,
            "context deadline exceeded; the server confirmed the statement stopped"
        );

        let server_error =
            HttpError(DatabaseError::new("42P01", "relation \"secret\" does not exist").into())
                .into_response();
        let kept = server_error.extensions().get::<Arc<Error>>().cloned();
        assert_eq!(
            kept.and_then(|error| error.code().map(str::to_owned))
                .as_deref(),
            Some("42P01")
        );
        assert_eq!(body(server_error).await, "internal server error");
    }

    #[tokio::test]
    async fn conflicts_hide_the_servers_text_and_retryable_ones_say_when_to_retry() {
        let conflict = HttpError(server(DatabaseErrorKind::UniqueViolation)).into_response();
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(conflict.headers().get(header::RETRY_AFTER), None);
        let body_text = body(conflict).await;
        assert!(!body_text.contains("secret"), "{body_text}");

        let deadlock = HttpError(server(DatabaseErrorKind::Deadlock)).into_response();
        assert_eq!(deadlock.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            deadlock.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from_static("1"))
        );
        let body_text = body(deadlock).await;
        assert!(!body_text.contains("secret"), "{body_text}");

        let pool = HttpError(Error::PoolClosed).into_response();
        assert_eq!(pool.headers().get(header::RETRY_AFTER), None);
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        String::from_utf8(bytes.to_vec()).expect("text")
    }
}
