//! End to end over gRPC: a real tonic client → tonic's generated service, served under
//! tethered's `RequestCtxLayer` → PostgreSQL; and a chain HTTP → gRPC → database sharing
//! one deadline and one trace. Each test asserts on the server's own view
//! (`pg_stat_activity`) and prints what it measured (`-- --nocapture`).

mod proto {
    tonic::include_proto!("sleeper");
}

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use http_body_util::BodyExt;
use hyper::Request as HttpRequest;
use hyper_util::rt::TokioIo;
use proto::sleeper_client::SleeperClient;
use proto::sleeper_server::{Sleeper, SleeperServer};
use proto::{SleepReply, SleepRequest};
use tethered::axum::{RequestCtx, RequestCtxLayer, TRACEPARENT, TraceContext, X_REQUEST_TIMEOUT};
use tethered::postgres::PgPool;
use tethered::{Ctx, Executor, PoolOptions, grpc};
use tethered_tests::Backend;
use tethered_tests::backend::{PROMPTLY, Postgres, Stage, unique};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};

/// What a call's context carried, as the gRPC handler saw it when the call began.
#[derive(Clone, Debug)]
struct Seen {
    trace_id: String,
    remaining: Option<Duration>,
}

/// The gRPC service: runs the asked-for sleep under the call's context.
struct SleepService {
    pool: PgPool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

#[tonic::async_trait]
impl Sleeper for SleepService {
    async fn sleep(&self, request: Request<SleepRequest>) -> Result<Response<SleepReply>, Status> {
        let ctx = grpc::request_ctx(&request)?;
        let seen = Seen {
            trace_id: ctx
                .value::<TraceContext>()
                .map(TraceContext::trace_id)
                .unwrap_or_default(),
            remaining: ctx.remaining(),
        };
        self.seen.lock().unwrap().push(seen.clone());
        let SleepRequest { seconds, marker } = request.get_ref().clone();
        // The trace id in the statement's text, so the server's own view shows the trace.
        let tagged = format!("{marker} trace {}", seen.trace_id);
        self.pool
            .execute(ctx, Postgres::sleep(seconds, &tagged))
            .await
            .map_err(grpc::status)?;
        Ok(Response::new(SleepReply {
            trace_id: seen.trace_id,
            remaining_ms: seen.remaining.map_or(u64::MAX, |left| {
                u64::try_from(left.as_millis()).unwrap_or(u64::MAX)
            }),
        }))
    }
}

/// The gRPC server on an ephemeral loopback port: tonic's routes served by axum (HTTP/2)
/// under `RequestCtxLayer`, so the layer reads `grpc-timeout` and sees the call's stream
/// reset when the client cancels.
async fn serve_grpc(stage: &Stage<Postgres>) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    // The pool options a service runs with: the caller is answered at most `stop_wait`
    // after its context ends, the stop going on in the background.
    let service = SleepService {
        pool: stage.pool_with(PoolOptions::default()),
        seen: Arc::clone(&seen),
    };
    let app = tonic::service::Routes::new(SleeperServer::new(service))
        .into_axum_router()
        .layer(RequestCtxLayer::new(Ctx::background()));
    (serve(app).await, seen)
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn client(addr: SocketAddr) -> SleeperClient<Channel> {
    SleeperClient::connect(format!("http://{addr}"))
        .await
        .expect("connecting to the gRPC server")
}

fn sleep_request(marker: &str) -> SleepRequest {
    SleepRequest {
        seconds: 10,
        marker: marker.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_timeout_ends_the_call_with_deadline_exceeded_and_stops_the_statement() {
    let stage = Stage::<Postgres>::new(2).await;
    let (addr, _) = serve_grpc(&stage).await;
    let mut client = client(addr).await;
    let marker = unique("grpc_deadline");
    let mut request = Request::new(sleep_request(&marker));
    request.set_timeout(Duration::from_millis(300));

    let started = Instant::now();
    let status = client
        .sleep(request)
        .await
        .expect_err("a 10 s sleep in 300 ms");
    let returned = started.elapsed();

    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // The server answers a reply margin before the client's own deadline.
    assert!(
        returned >= Duration::from_millis(250),
        "returned after {returned:?}"
    );
    assert!(
        returned < Duration::from_millis(300) + PROMPTLY,
        "returned after {returned:?}"
    );
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    println!("grpc-timeout 300 ms: DEADLINE_EXCEEDED after {returned:?}, gone {gone:?} later");
    stage.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cancels_mid_call_stops_the_statement() {
    let stage = Stage::<Postgres>::new(2).await;
    let (addr, _) = serve_grpc(&stage).await;
    let mut client = client(addr).await;
    let marker = unique("grpc_cancel");
    let call = tokio::spawn({
        let request = Request::new(sleep_request(&marker));
        async move { client.sleep(request).await }
    });
    stage.wait_running(&marker, Duration::from_secs(10)).await;

    let cancelled = Instant::now();
    call.abort();
    let _ = call.await;

    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    println!(
        "client cancelled mid-call: the sleep gone {gone:?} later ({:?})",
        cancelled.elapsed()
    );
    stage.finish().await;
}

/// The HTTP front: calls the gRPC service on the request's behalf.
async fn front(
    RequestCtx(ctx): RequestCtx,
    State((grpc_addr, marker)): State<(SocketAddr, String)>,
) -> (StatusCode, String) {
    let request = match grpc::outgoing(&ctx, sleep_request(&marker)) {
        Ok(request) => request,
        Err(status) => return (StatusCode::GATEWAY_TIMEOUT, status.message().to_owned()),
    };
    match client(grpc_addr).await.sleep(request).await {
        Ok(reply) => (StatusCode::OK, reply.into_inner().trace_id),
        Err(status) if status.code() == Code::DeadlineExceeded => {
            (StatusCode::GATEWAY_TIMEOUT, status.message().to_owned())
        }
        Err(status) => (StatusCode::BAD_GATEWAY, format!("{status:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_http_grpc_database_shares_one_deadline_and_one_trace() {
    let stage = Stage::<Postgres>::new(2).await;
    let (grpc_addr, seen) = serve_grpc(&stage).await;
    let marker = unique("grpc_chain");
    let app = axum::Router::new()
        .route("/front", get(front))
        .with_state((grpc_addr, marker.clone()))
        .layer(RequestCtxLayer::new(Ctx::background()));
    let http_addr = serve(app).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";

    let request = HttpRequest::get("/front")
        .header("host", "localhost")
        .header(X_REQUEST_TIMEOUT, "300")
        .header(TRACEPARENT, format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .body(String::new())
        .expect("a request");
    let started = Instant::now();
    let call = tokio::spawn(send(http_addr, request));
    // The database runs the statement under the trace the HTTP request began.
    stage
        .wait_running(
            &format!("{marker} trace {trace_id}"),
            Duration::from_secs(10),
        )
        .await;
    let (status, body) = call.await.expect("the HTTP call");
    let returned = started.elapsed();

    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    // The gRPC server answers a reply margin before the deadline it was given.
    assert!(
        returned >= Duration::from_millis(225),
        "returned after {returned:?}"
    );
    assert!(
        returned < Duration::from_millis(300) + PROMPTLY,
        "returned after {returned:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].trace_id, trace_id,
        "the gRPC call continues the HTTP request's trace"
    );
    let left = seen[0]
        .remaining
        .expect("the gRPC call has the HTTP request's deadline");
    assert!(
        left <= Duration::from_millis(300),
        "the gRPC call got {left:?}, more than was left"
    );
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    println!(
        "HTTP 300 ms → gRPC ({left:?} left) → database: 504 after {returned:?}, the sleep gone {gone:?} later"
    );
    stage.finish().await;
}

/// Sends `request` over HTTP/1.1 and returns the status and body.
async fn send(addr: SocketAddr, request: HttpRequest<String>) -> (StatusCode, String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    let (head, body) = response.into_parts();
    let body = body.collect().await.expect("a body").to_bytes();
    (head.status, String::from_utf8_lossy(&body).into_owned())
}
