//! The per-request context: a tower layer that derives it and ends it with the request,
//! and the extractor handlers take it with.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response as AxumResponse};
use http::request::Parts;
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::deadline_headers::requested_timeout;
use super::request_id::{RequestId, X_REQUEST_ID, from_headers, header_value};
use super::trace_context::TraceContext;
use crate::{Ctx, Scope};

/// The reason a request's context is cancelled with when its response future is dropped
/// before completing: under hyper, because the client disconnected.
pub const CLIENT_DISCONNECTED: &str = "client disconnected";

/// The longest a request may run when [`RequestCtxLayer::max_timeout`] is not set.
pub const DEFAULT_MAX_TIMEOUT: Duration = Duration::from_secs(30);

/// How much sooner than its `grpc-timeout` a gRPC call's context ends when
/// [`RequestCtxLayer::grpc_reply_margin`] is not set (at most a quarter of the timeout).
pub const DEFAULT_GRPC_REPLY_MARGIN: Duration = Duration::from_millis(50);

/// A tower [`Layer`] that gives every request a [`Ctx`], taken in handlers with the
/// [`RequestCtx`] extractor.
///
/// Each request's context is derived from the root given to [`RequestCtxLayer::new`]
/// (cancelling the root ends every request under it), and ends:
///
/// - at its deadline: the smallest of the request's `grpc-timeout` and `X-Request-Timeout`
///   headers (malformed values are ignored), capped by [`RequestCtxLayer::max_timeout`],
///   which is also the deadline of a request that states none;
/// - when the request's future is dropped before it completes — hyper drops it when the
///   client disconnects — cancelled with the reason [`CLIENT_DISCONNECTED`];
/// - when the handler has produced its response (with the reason
///   [`SCOPE_ENDED`](crate::SCOPE_ENDED)): the context belongs to the handler, not to the
///   streaming of the response body.
///
/// It carries the request's [`RequestId`] as a value, which is also set on the response as
/// `x-request-id` unless the handler set one, and its
/// [`TraceContext`](super::TraceContext) (the caller's `traceparent` continued, or a new
/// trace).
///
/// The layer is tower's, for any HTTP service: tonic servers take it too
/// ([`crate::grpc`], feature `grpc`), reading the deadline from `grpc-timeout`.
#[derive(Clone, Debug)]
pub struct RequestCtxLayer {
    root: Ctx,
    max_timeout: Duration,
    grpc_reply_margin: Duration,
}

impl RequestCtxLayer {
    /// Requests' contexts are derived from `root`, with at most [`DEFAULT_MAX_TIMEOUT`].
    pub fn new(root: Ctx) -> RequestCtxLayer {
        RequestCtxLayer {
            root,
            max_timeout: DEFAULT_MAX_TIMEOUT,
            grpc_reply_margin: DEFAULT_GRPC_REPLY_MARGIN,
        }
    }

    /// The longest any request may run, whatever its headers ask for; also the deadline
    /// of a request whose headers state none.
    pub fn max_timeout(mut self, max_timeout: Duration) -> RequestCtxLayer {
        self.max_timeout = max_timeout;
        self
    }

    /// How much sooner than the caller's deadline a gRPC call's context ends (at most a
    /// quarter of the call's timeout; default [`DEFAULT_GRPC_REPLY_MARGIN`]), so that the
    /// handler's `DEADLINE_EXCEEDED`, its statement stopped, reaches the caller before the
    /// caller gives up: a gRPC client enforces the deadline it sends (tonic's then reports
    /// `CANCELLED`, "Timeout expired", and the reason is lost). Plain HTTP requests end at
    /// their deadline.
    pub fn grpc_reply_margin(mut self, margin: Duration) -> RequestCtxLayer {
        self.grpc_reply_margin = margin;
        self
    }

    /// The scope owning the context of a request with these headers, its id and its
    /// place in a trace.
    fn scope_for(&self, headers: &http::HeaderMap) -> (Scope, RequestId, TraceContext) {
        let mut timeout = requested_timeout(headers)
            .map_or(self.max_timeout, |asked| asked.min(self.max_timeout));
        if is_grpc(headers) {
            timeout -= self.grpc_reply_margin.min(timeout / 4);
        }
        let scope = self.root.with_timeout(timeout);
        let request_id = from_headers(headers).unwrap_or_else(RequestId::generate);
        (scope, request_id, TraceContext::from_headers(headers))
    }
}

/// Whether the request is a gRPC call (`content-type: application/grpc`, with or without a
/// `+proto`-style suffix).
fn is_grpc(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"))
}

impl<S> Layer<S> for RequestCtxLayer {
    type Service = RequestCtxService<S>;

    fn layer(&self, inner: S) -> RequestCtxService<S> {
        RequestCtxService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RequestCtxLayer`] wraps around the inner one.
#[derive(Clone, Debug)]
pub struct RequestCtxService<S> {
    inner: S,
    layer: RequestCtxLayer,
}

impl<S, B, ResponseBody> Service<Request<B>> for RequestCtxService<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> ResponseFuture<S::Future> {
        let (scope, request_id, trace) = self.layer.scope_for(request.headers());
        let ctx = scope.with_value(request_id.clone()).with_value(trace);
        request.extensions_mut().insert(RequestCtx(ctx));
        ResponseFuture {
            inner: Box::pin(self.inner.call(request)),
            scope: Some(scope),
            request_id,
        }
    }
}

/// The response future of [`RequestCtxService`]: it owns the request's context, ends it
/// normally once the response is ready, and cancels it with [`CLIENT_DISCONNECTED`] if it
/// is dropped before then.
pub struct ResponseFuture<F> {
    // Boxed so that this future is `Unpin` and needs no pin projection.
    inner: Pin<Box<F>>,
    /// `None` once the response is ready.
    scope: Option<Scope>,
    request_id: RequestId,
}

impl<F, ResponseBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut output = std::task::ready!(self.inner.as_mut().poll(cx));
        // Ends the context normally: the handler is done with it.
        drop(self.scope.take());
        if let Ok(response) = &mut output
            && let Some(value) = header_value(&self.request_id)
        {
            response.headers_mut().entry(X_REQUEST_ID).or_insert(value);
        }
        Poll::Ready(output)
    }
}

impl<F> Drop for ResponseFuture<F> {
    fn drop(&mut self) {
        // Runs before the handler's future is dropped (fields drop after this), so work
        // spawned under the context learns why as soon as possible.
        if let Some(scope) = self.scope.take() {
            scope.cancel(CLIENT_DISCONNECTED);
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("scope", &self.scope)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// The request's context, as an extractor: `RequestCtx(ctx): RequestCtx` in a handler's
/// parameters. It dereferences to [`Ctx`], so `&request_ctx` works where `&Ctx` is
/// expected.
///
/// Needs [`RequestCtxLayer`] on the router; without it, extraction fails with
/// [`MissingRequestCtx`].
#[derive(Clone, Debug)]
pub struct RequestCtx(pub Ctx);

impl std::ops::Deref for RequestCtx {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = MissingRequestCtx;

    /// Cancel safe: it only reads the request's extensions.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or(MissingRequestCtx)
    }
}

/// The rejection of [`RequestCtx`] when the router has no [`RequestCtxLayer`]: a
/// server-side mistake, answered with 500 and a message saying how to fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingRequestCtx;

impl fmt::Display for MissingRequestCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "this request has no tethered context: the router lacks \
             `.layer(tethered::axum::RequestCtxLayer::new(root))`",
        )
    }
}

impl std::error::Error for MissingRequestCtx {}

impl IntoResponse for MissingRequestCtx {
    fn into_response(self) -> AxumResponse {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use std::task::Waker;

    use http::HeaderValue;

    use super::*;
    use crate::Cause;
    use crate::axum::GRPC_TIMEOUT;

    /// An inner service that keeps every request's context and answers when `ready`.
    #[derive(Clone, Default)]
    struct Handler {
        seen: Arc<Mutex<Vec<Ctx>>>,
    }

    impl Service<Request<()>> for Handler {
        type Response = Response<()>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<()>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            let RequestCtx(ctx) = request.extensions().get().cloned().expect("a context");
            self.seen.lock().unwrap().push(ctx);
            std::future::ready(Ok(Response::new(())))
        }
    }

    fn service(max_timeout: Duration) -> (RequestCtxService<Handler>, Handler) {
        let handler = Handler::default();
        let layer = RequestCtxLayer::new(Ctx::background()).max_timeout(max_timeout);
        (layer.layer(handler.clone()), handler)
    }

    fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
    }

    fn seen(handler: &Handler) -> Ctx {
        handler
            .seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a call")
    }

    #[test]
    fn a_completed_request_ends_its_scope_normally_and_echoes_the_id() {
        let (mut service, handler) = service(DEFAULT_MAX_TIMEOUT);
        let request = Request::builder()
            .header(X_REQUEST_ID, "client-id-1")
            .body(())
            .unwrap();
        let mut future = service.call(request);
        let ctx = seen(&handler);
        assert!(!ctx.is_done(), "live while the handler runs");
        assert_eq!(ctx.value::<RequestId>().unwrap().as_str(), "client-id-1");

        let Poll::Ready(Ok(response)) = poll_once(&mut future) else {
            panic!("the handler is ready")
        };
        assert_eq!(response.headers()[X_REQUEST_ID], "client-id-1");
        let ended = Some(Cause::Canceled {
            reason: crate::SCOPE_ENDED.into(),
        });
        assert_eq!(ctx.cause(), ended);
        drop(future);
        assert_eq!(
            ctx.cause(),
            ended,
            "a completed request is not a disconnect"
        );
    }

    #[test]
    fn a_dropped_request_is_cancelled_as_a_disconnect() {
        let (mut service, handler) = service(DEFAULT_MAX_TIMEOUT);
        let future = service.call(Request::new(()));
        let ctx = seen(&handler);
        drop(future);
        assert_eq!(
            ctx.cause(),
            Some(Cause::Canceled {
                reason: CLIENT_DISCONNECTED.into()
            })
        );
    }

    #[test]
    fn the_deadline_comes_from_the_headers_capped_by_the_maximum() {
        let (mut service, handler) = service(Duration::from_secs(2));
        let mut asked = |value: &'static str| {
            let request = Request::builder()
                .header(GRPC_TIMEOUT, HeaderValue::from_static(value))
                .body(())
                .unwrap();
            drop(service.call(request));
            seen(&handler).deadline().expect("a deadline")
        };
        let before = tokio::time::Instant::now();
        let short = asked("300m");
        let long = asked("1H");
        let malformed = asked("300 ms");
        let after = tokio::time::Instant::now();
        assert!(short >= before + Duration::from_millis(300));
        assert!(short <= after + Duration::from_millis(300));
        assert!(
            long <= after + Duration::from_secs(2),
            "capped by the maximum"
        );
        assert!(long >= before + Duration::from_secs(2));
        assert!(malformed >= before + Duration::from_secs(2), "the maximum");
        assert!(malformed <= after + Duration::from_secs(2));
    }

    #[test]
    fn a_grpc_call_ends_a_reply_margin_before_its_timeout_and_a_plain_request_does_not() {
        let (mut service, handler) = service(DEFAULT_MAX_TIMEOUT);
        let mut asked = |content_type: &'static str, timeout: &'static str| {
            let request = Request::builder()
                .header(http::header::CONTENT_TYPE, content_type)
                .header(GRPC_TIMEOUT, timeout)
                .body(())
                .unwrap();
            let before = tokio::time::Instant::now();
            drop(service.call(request));
            let deadline = seen(&handler).deadline().expect("a deadline");
            (deadline - before, before.elapsed())
        };
        let (grpc, slack) = asked("application/grpc", "300m");
        let margin_less = Duration::from_millis(250);
        assert!(
            grpc >= margin_less && grpc <= margin_less + slack,
            "{grpc:?}"
        );
        let (proto, slack) = asked("application/grpc+proto", "100m");
        let quarter = Duration::from_millis(75);
        assert!(
            proto >= quarter && proto <= quarter + slack,
            "at most a quarter: {proto:?}"
        );
        let (plain, slack) = asked("application/json", "300m");
        let whole = Duration::from_millis(300);
        assert!(plain >= whole && plain <= whole + slack, "{plain:?}");
    }

    #[test]
    fn a_client_id_that_breaks_the_rule_is_replaced() {
        let (mut service, handler) = service(DEFAULT_MAX_TIMEOUT);
        let request = Request::builder()
            .header(X_REQUEST_ID, "*/ injected /*")
            .body(())
            .unwrap();
        let mut future = service.call(request);
        let id = seen(&handler).value::<RequestId>().cloned().expect("an id");
        assert_eq!(id.as_str().len(), 32);
        let Poll::Ready(Ok(response)) = poll_once(&mut future) else {
            panic!("the handler is ready")
        };
        assert_eq!(response.headers()[X_REQUEST_ID], id.as_str());
    }

    #[test]
    fn without_the_layer_the_extractor_says_what_is_missing() {
        let (mut parts, ()) = Request::new(()).into_parts();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let rejection = runtime
            .block_on(RequestCtx::from_request_parts(&mut parts, &()))
            .unwrap_err();
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.to_string().contains("RequestCtxLayer"));
    }
}
