//! End to end, on every backend: a real HTTP client → axum with `RequestCtxLayer` → the
//! `http_service` example's repository → the database. Each test asserts on the server's
//! own view (`pg_stat_activity`, MariaDB's `SHOW PROCESSLIST`; on SQLite the engine's
//! counter, ticked by the sleep's naps, which stops moving when the engine stops the
//! statement), read over a connection of its own, and prints what it measured (`cargo test
//! --test http -- --nocapture` shows it).

#[path = "../../examples/http_service/app.rs"]
mod app;
#[path = "../../examples/common/server_view.rs"]
mod server_view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::{self, Backend, Db};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http_body_util::BodyExt;
use hyper::header::RETRY_AFTER;
use hyper::http::response::Parts;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tethered::axum::HttpError;
use tethered::axum::{
    GRPC_TIMEOUT, RequestCtx, RequestCtxLayer, X_REQUEST_ID, X_REQUEST_TIMEOUT, propagate_deadline,
};
use tethered::{Ctx, PoolOptions};
use tethered_tests::backend::{Stage, unique};
use tethered_tests::errors;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long a statement may stay on the server after the client disconnects, or after the
/// 504 for a passed deadline: long before its 10 s would end, whatever the machine's load
/// (the figures themselves are printed, and measured by the benchmark; on SQLite they
/// include the 25 ms without a tick that the engine view takes for stopped).
const STOP_BOUND: Duration = tethered_tests::backend::PROMPTLY;
/// How long a test waits for a statement to show up on the server at all.
const SHOW_UP_LIMIT: Duration = Duration::from_secs(5);

/// The example service, started in-process on an ephemeral loopback port, and an observer
/// connection on the same server.
struct Service {
    backend: Backend,
    addr: SocketAddr,
    observer: Db,
    repository: Arc<app::Repository>,
}

impl Service {
    async fn start(backend: Backend) -> Service {
        let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
        let repository = app::Repository::connect(&ctx, backend)
            .await
            .unwrap_or_else(|error| server_missing(backend, error));
        repository
            .set_up(&ctx)
            .await
            .expect("create the example's table");
        let repository = Arc::new(repository);
        let router = app::router(
            Arc::clone(&repository),
            RequestCtxLayer::new(Ctx::background()),
        );
        let addr = serve(router).await;
        let observer = Db::connect(&ctx, backend, PoolOptions::default())
            .await
            .unwrap_or_else(|error| server_missing(backend, error));
        Service {
            backend,
            addr,
            observer,
            repository,
        }
    }

    /// Drops the service's namespace on the server. (A failed test leaves it behind; its
    /// name is unique, so no later run trips over it.)
    async fn finish(self) {
        let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
        self.repository
            .remove(&ctx)
            .await
            .expect("drop the service's namespace");
    }

    /// How long until the server shows a statement tagged `marker` running; fails the test
    /// if it never does.
    async fn running(&self, marker: &str) -> Duration {
        self.observer
            .wait_until(
                &Ctx::background(),
                marker,
                |running| running > 0,
                SHOW_UP_LIMIT,
            )
            .await
            .expect("read the server's view")
            .unwrap_or_else(|| panic!("{marker} never ran on {}", self.backend.name()))
    }

    /// Waits (up to [`STOP_BOUND`]) until the server shows no statement tagged `marker`; `None`
    /// if one is still there.
    async fn gone(&self, marker: &str) -> Option<Duration> {
        self.observer
            .wait_until(
                &Ctx::background(),
                marker,
                |running| running == 0,
                STOP_BOUND,
            )
            .await
            .expect("read the server's view")
    }
}

fn server_missing(backend: Backend, error: tethered::Error) -> ! {
    panic!(
        "{} is not reachable at {} ({error}){}; TETHERED_POSTGRES_URL / TETHERED_MYSQL_URL \
         name the servers",
        backend.name(),
        backend.url(),
        backend.hint()
    )
}

/// Serves `router` on an ephemeral loopback port until the test's runtime ends.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Sends `request` to `addr` over a connection of its own with hyper's client; returns the
/// status and the body. Dropping the future closes the connection: a client hanging up.
async fn send(addr: SocketAddr, request: Request<String>) -> (StatusCode, String) {
    let (head, body) = exchange(addr, request).await;
    (head.status, body)
}

/// [`send`], returning the response's head (status and headers) and its body.
async fn exchange(addr: SocketAddr, request: Request<String>) -> (Parts, String) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    // Driven here rather than spawned, so that the socket lives exactly as long as this
    // future.
    let exchange = async {
        let response = sender.send_request(request).await.expect("a response");
        let (head, body) = response.into_parts();
        let body = body.collect().await.expect("a body");
        (head, String::from_utf8_lossy(&body.to_bytes()).into_owned())
    };
    tokio::select! {
        answer = exchange => answer,
        closed = connection => panic!("the connection ended before the response: {closed:?}"),
    }
}

/// `GET path`, tagged with the request id `marker` (which the example writes into the
/// statement's text).
fn get_tagged(path: &str, marker: &str) -> hyper::http::request::Builder {
    Request::get(path)
        .header("host", "localhost")
        .header(X_REQUEST_ID, marker)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The client sends `GET /slow?secs=10` and hangs up after 200 ms: the statement must be
/// gone from the server within 100 ms of the disconnect.
async fn a_client_disconnect_stops_the_statement(backend: Backend) {
    let service = Service::start(backend).await;
    let marker = unique("http_disconnect");
    let request = get_tagged("/slow?secs=10", &marker)
        .body(String::new())
        .unwrap();
    let (hang_up, hung_up) = oneshot::channel::<()>();
    let addr = service.addr;
    let sent = tokio::time::Instant::now();
    let client = tokio::spawn(async move {
        tokio::select! {
            answer = send(addr, request) => Some(answer),
            _ = hung_up => None,
        }
    });
    let running_after = service.running(&marker).await;

    tokio::time::sleep_until(sent + Duration::from_millis(200)).await;
    let disconnected = Instant::now();
    hang_up.send(()).expect("the client is waiting");
    let answer = client.await.expect("the client task");
    assert_eq!(answer, None, "a 10 s sleep answered within 200 ms");

    let gone = service.gone(&marker).await.map(|_| disconnected.elapsed());
    println!(
        "{}: statement running {:.1} ms after the request was sent; gone {} after the client \
         disconnected",
        backend.name(),
        ms(running_after),
        gone.map_or("NOT".to_owned(), |gone| format!("{:.1} ms", ms(gone))),
    );
    let gone = gone.expect("the statement still runs a second after the disconnect");
    assert!(
        gone <= STOP_BOUND,
        "the statement was gone only {gone:?} after the disconnect"
    );
    service.finish().await;
}

/// The operator's view of a client hanging up mid-statement: `/debug/in-flight` lists the
/// running sleep with its request id, then nothing once it has stopped; `/metrics` counts
/// the stop (`tethered_queries_cancelled_total` with the backend, the cause `dropped` and
/// the outcome `stopped`) and has the statements' duration histogram.
async fn the_operator_sees_a_hang_up_in_flight_then_counted(backend: Backend) {
    let service = Service::start(backend).await;
    // The conventions' `db.system.name`, which labels the metrics.
    let system = match backend {
        Backend::Postgres => "postgresql",
        Backend::Mysql => "mysql",
        Backend::Sqlite => "sqlite",
    };
    let stopped = [
        ("backend", system),
        ("cause", "dropped"),
        ("outcome", "stopped"),
    ];
    let cancelled = "tethered_queries_cancelled_total";
    let before = sample(&scrape(service.addr).await, cancelled, &stopped);
    let marker = unique("http_operator");
    let request = get_tagged("/slow?secs=10", &marker)
        .body(String::new())
        .unwrap();
    let addr = service.addr;
    let client = tokio::spawn(async move { send(addr, request).await });
    service.running(&marker).await;

    let board = in_flight(service.addr).await;
    let ours: Vec<_> = board
        .iter()
        .filter(|statement| statement["request_id"] == marker.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "the sleep is on the board once: {board:?}");
    assert_eq!(ours[0]["state"], "running");
    // Its text, with placeholders (on SQLite the label is a bound value, so not there).
    assert!(
        ours[0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("SELECT"))
    );

    client.abort();
    let _ = client.await;
    service
        .gone(&marker)
        .await
        .expect("the sleep stopped on the server after the hang-up");
    // The stop's report reaches the board and the counter right after the server's view.
    let started = Instant::now();
    loop {
        let board = in_flight(service.addr).await;
        let left = board
            .iter()
            .any(|statement| statement["request_id"] == marker.as_str());
        let after = sample(&scrape(service.addr).await, cancelled, &stopped);
        if !left && after > before {
            break;
        }
        assert!(
            started.elapsed() < STOP_BOUND,
            "after the stop: on the board {left}, {cancelled}{stopped:?} {before} -> {after}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let user = get_tagged("/users/1", &unique("http_operator_read")).body(String::new());
    let (status, body) = send(service.addr, user.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let metrics = scrape(service.addr).await;
    let selects = [("db_system_name", system), ("db_operation_name", "SELECT")];
    assert!(
        sample(&metrics, "db_client_operation_duration_count", &selects) > 0.0,
        "no duration histogram of {system}'s SELECTs in:\n{metrics}"
    );
    service.finish().await;
}

/// The body of `GET /metrics`.
async fn scrape(addr: SocketAddr) -> String {
    let request = Request::get("/metrics")
        .header("host", "localhost")
        .body(String::new());
    let (status, body) = send(addr, request.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The statements of `GET /debug/in-flight`.
async fn in_flight(addr: SocketAddr) -> Vec<serde_json::Value> {
    let request = Request::get("/debug/in-flight")
        .header("host", "localhost")
        .body(String::new());
    let (status, body) = send(addr, request.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut board: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let scopes = board["live_scopes"]
        .as_u64()
        .expect("a count of live scopes");
    assert!(scopes >= 1, "this request's own scope is alive: {body}");
    serde_json::from_value(board["statements"].take()).expect("a list of statements")
}

/// The sum of the Prometheus samples named `name` in `metrics` that carry every one of
/// `labels` (whatever their other labels); 0 if there is none yet.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter_map(|line| {
            let (labelled, value) = line
                .strip_prefix(name)?
                .strip_prefix('{')?
                .split_once("} ")?;
            let wanted = |(label, value): &(&str, &str)| {
                labelled
                    .split(',')
                    .any(|pair| pair == format!("{label}=\"{value}\""))
            };
            labels
                .iter()
                .all(wanted)
                .then(|| value.trim().parse::<f64>().ok())?
        })
        .sum()
}

/// `grpc-timeout: 300m` on a 10 s sleep: 504 within 300 ms + 100 ms, and the statement
/// gone from the server.
async fn a_request_deadline_answers_504_and_stops_the_statement(backend: Backend) {
    let service = Service::start(backend).await;
    let marker = unique("http_deadline");
    let request = get_tagged("/slow?secs=10", &marker)
        .header(GRPC_TIMEOUT, "300m")
        .body(String::new())
        .unwrap();
    out_of_time(
        service.addr,
        request,
        &service,
        &marker,
        "grpc-timeout 300m",
    )
    .await;
    service.finish().await;
}

/// Two services in a chain: the first gets `X-Request-Timeout: 300` and calls the second
/// with its remaining deadline written by `propagate_deadline`. The second service's own
/// maximum is 30 s, so only the propagated budget can stop its 10 s sleep at 300 ms.
async fn a_propagated_deadline_is_honoured_downstream(backend: Backend) {
    let downstream = Service::start(backend).await;
    let upstream = serve(relay(downstream.addr)).await;
    let marker = unique("http_propagated");
    let request = get_tagged("/relay", &marker)
        .header(X_REQUEST_TIMEOUT, "300")
        .body(String::new())
        .unwrap();
    let what = "X-Request-Timeout 300 upstream, propagated downstream";
    out_of_time(upstream, request, &downstream, &marker, what).await;
    downstream.finish().await;
}

/// Sends `request`, whose budget is 300 ms, to `addr`, and asserts that the answer is 504
/// within 300 ms + 100 ms, that the statement tagged `marker` ran on `service`'s server,
/// and that it is gone from there within 100 ms of the answer.
async fn out_of_time(
    addr: SocketAddr,
    request: Request<String>,
    service: &Service,
    marker: &str,
    what: &str,
) {
    let started = Instant::now();
    let (((status, body), answered_after), running_after) = tokio::join!(
        async {
            let answer = send(addr, request).await;
            (answer, started.elapsed())
        },
        service.running(marker),
    );
    let gone = service.gone(marker).await;
    println!(
        "{}: {what} -> {status} ({body}) after {:.1} ms (statement running {:.1} ms in); \
         statement gone {} after the response",
        service.backend.name(),
        ms(answered_after),
        ms(running_after),
        gone.map_or("NOT".to_owned(), |gone| format!("{:.1} ms", ms(gone))),
    );
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert!(body.contains("deadline exceeded"), "{body}");
    assert!(
        answered_after <= Duration::from_millis(300) + STOP_BOUND,
        "answered after {answered_after:?}"
    );
    let gone = gone.expect("the statement still runs STOP_BOUND after the 504");
    assert!(gone <= STOP_BOUND, "gone only {gone:?} after the 504");
}

/// The upstream service of the chain: `GET /relay` calls `GET /slow?secs=10` on
/// `downstream` with the request's remaining deadline and id, and answers with whatever
/// downstream answered. It deliberately does not race its own context, so the answer can
/// only come from downstream.
fn relay(downstream: SocketAddr) -> Router {
    async fn relay(
        RequestCtx(ctx): RequestCtx,
        State(downstream): State<SocketAddr>,
    ) -> impl IntoResponse {
        let mut request = Request::get("/slow?secs=10")
            .header("host", "localhost")
            .body(String::new())
            .unwrap();
        propagate_deadline(&ctx, request.headers_mut());
        if let Some(request_id) = ctx.value::<tethered::axum::RequestId>() {
            let value = request_id
                .as_str()
                .parse()
                .expect("a request id is a header value");
            request.headers_mut().insert(X_REQUEST_ID, value);
        }
        send(downstream, request).await
    }
    Router::new()
        .route("/relay", get(relay))
        .with_state(downstream)
        .layer(RequestCtxLayer::new(Ctx::background()))
}

/// `GET /users/{id}` serves a stored user, and 404 for a missing one.
async fn users_are_served(backend: Backend) {
    let service = Service::start(backend).await;
    let ctx = Ctx::background().with_timeout(Duration::from_secs(10));
    let name = unique("http_user");
    let stored = service
        .repository
        .add_user(&ctx, &name)
        .await
        .expect("store a user");
    let found = send(
        service.addr,
        get_tagged(&format!("/users/{}", stored.id), &name)
            .body(String::new())
            .unwrap(),
    )
    .await;
    assert_eq!(found.0, StatusCode::OK, "{}", found.1);
    assert!(found.1.contains(&name), "{}", found.1);
    let missing = send(
        service.addr,
        get_tagged("/users/-1", &name).body(String::new()).unwrap(),
    )
    .await;
    assert_eq!(missing.0, StatusCode::NOT_FOUND, "{}", missing.1);
    service.finish().await;
}

/// `POST /users` stores a user (201), and answers 409 Conflict for a name already taken:
/// the database's unique constraint, classified the same on every backend, without the
/// server's text (which quotes the duplicate value) in the body.
async fn a_taken_name_is_a_conflict(backend: Backend) {
    let service = Service::start(backend).await;
    let name = unique("http_conflict");
    let post = || {
        Request::post("/users")
            .header("host", "localhost")
            .header("content-type", "application/json")
            // A name from `unique` is letters, digits and `_`: nothing to escape.
            .body(format!(r#"{{"name": "{name}"}}"#))
            .unwrap()
    };

    let created = send(service.addr, post()).await;
    let taken = send(service.addr, post()).await;

    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
    assert!(created.1.contains(&name), "{}", created.1);
    assert_eq!(taken.0, StatusCode::CONFLICT, "{}", taken.1);
    assert!(
        !taken.1.contains(&name),
        "the server's text leaked: {}",
        taken.1
    );
    service.finish().await;
}

/// A handler whose transaction fails to serialize on the server, for real (see
/// [`errors::serialization_failure`]), answers 503 with `Retry-After`: the client may send
/// the request again. On the servers only, as in the suite: SQLite's one writer at a time
/// leaves no snapshot conflict to report.
async fn a_transaction_conflict_is_503_with_retry_after<B: tethered_tests::Backend>() {
    /// The snapshot pool and the outside one.
    type Pools<D> = (tethered::Pool<D>, tethered::Pool<D>);
    async fn conflict<D: tethered::Driver>(
        RequestCtx(ctx): RequestCtx,
        State((snapshots, outside)): State<Pools<D>>,
    ) -> Result<(), HttpError> {
        Err(errors::serialization_failure(&ctx, &snapshots, &outside)
            .await
            .into())
    }
    let stage = Stage::<B>::new(2).await;
    errors::counters(&stage).await;
    let snapshots = stage.pool_with_session(1, B::SNAPSHOT_ISOLATION);
    let router = Router::new()
        .route("/conflict", get(conflict::<B::Driver>))
        .with_state((snapshots.clone(), stage.pool.clone()))
        .layer(RequestCtxLayer::new(Ctx::background()));
    let addr = serve(router).await;
    let request = Request::get("/conflict")
        .header("host", "localhost")
        .body(String::new())
        .unwrap();

    let (head, body) = exchange(addr, request).await;

    assert_eq!(head.status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        head.headers.get(RETRY_AFTER).map(|value| value.as_bytes()),
        Some(&b"1"[..])
    );
    snapshots.close();
    stage.finish().await;
}

/// One test per scenario and backend (named as `--backend` names it), each on a runtime of
/// its own.
macro_rules! on_every_backend {
    ([$($backend:ident),*] $scenarios:tt) => {
        $(on_every_backend!(@one $backend $scenarios);)*
    };
    (@one $backend:ident [$($scenario:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let backend: super::Backend =
                        stringify!($backend).parse().expect("a backend's name");
                    super::$scenario(backend).await;
                }
            )*
        }
    };
}

on_every_backend!(
    [postgres, mysql, sqlite]
    [
        a_client_disconnect_stops_the_statement,
        the_operator_sees_a_hang_up_in_flight_then_counted,
        a_request_deadline_answers_504_and_stops_the_statement,
        a_propagated_deadline_is_honoured_downstream,
        users_are_served,
        a_taken_name_is_a_conflict,
    ]
);

/// [`a_transaction_conflict_is_503_with_retry_after`] on each server backend.
mod transaction_conflict {
    use super::a_transaction_conflict_is_503_with_retry_after as conflict;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        conflict::<tethered_tests::Postgres>().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        conflict::<tethered_tests::MySql>().await;
    }
}
