//! What an outgoing request carries of the request it is made for: the time left, the
//! trace, and the request id.

use http::HeaderMap;

use super::deadline_headers::propagate_deadline;
use super::request_id::{RequestId, X_REQUEST_ID, header_value};
use super::trace_context::{TRACEPARENT, TraceContext};
use crate::Ctx;

/// Writes into `headers` what the next service needs to work as part of this request: the
/// time left ([`propagate_deadline`]), the trace (`traceparent`, naming this service's span
/// as the parent) and the request id (`x-request-id`), each when `ctx` has one (the
/// request's context under [`RequestCtxLayer`](super::RequestCtxLayer) has all three).
/// Call it right before sending.
///
/// ```
/// use std::time::Duration;
/// use tethered::Ctx;
/// use tethered::axum::{TRACEPARENT, X_REQUEST_TIMEOUT, propagate_context};
///
/// let request = Ctx::background().with_timeout(Duration::from_secs(2));
/// let mut outgoing = http::HeaderMap::new();
/// propagate_context(&request, &mut outgoing);
/// assert!(outgoing.contains_key(X_REQUEST_TIMEOUT));
/// assert!(!outgoing.contains_key(TRACEPARENT)); // this context was not a request's
/// ```
pub fn propagate_context(ctx: &Ctx, headers: &mut HeaderMap) {
    propagate_deadline(ctx, headers);
    match ctx.value::<TraceContext>() {
        Some(trace) => headers.insert(TRACEPARENT, trace.header_value()),
        None => headers.remove(TRACEPARENT),
    };
    match ctx.value::<RequestId>().and_then(header_value) {
        Some(id) => headers.insert(X_REQUEST_ID, id),
        None => headers.remove(X_REQUEST_ID),
    };
}
