//! An HTTP service whose every database statement is tethered to its request: hang up,
//! or let the request's deadline pass, and the statement stops in the database.
//!
//! ```sh
//! cargo run --example http_service --features postgres,mysql,axum,metrics     # on SQLite, no server
//! cargo run --example http_service --features postgres,mysql,axum,metrics -- --backend mysql
//! curl localhost:3000/users/1
//! curl -d '{"name":"Ada Lovelace"}' -H 'content-type: application/json' localhost:3000/users  # 409: taken
//! curl -H 'grpc-timeout: 300m' 'localhost:3000/slow?secs=10'   # 504 after 300 ms
//! curl 'localhost:3000/slow?secs=10'                            # Ctrl-C it: the sleep stops
//! ```
//!
//! The operator's view: `curl localhost:3000/metrics` (Prometheus text: statement durations,
//! deadlines left at each statement, cancels by cause and outcome, the pool) and
//! `curl localhost:3000/debug/in-flight` (every statement running or being stopped, as
//! JSON). Logs go to stderr through tracing-subscriber: `RUST_LOG=tethered::statement=debug`
//! shows a span per statement, and slow or uncertain ones are logged at `WARN` by default.
//!
//! Options: `--backend sqlite|postgres|mysql` (default sqlite: embedded, nothing to start),
//! `--addr 127.0.0.1:PORT` (default 127.0.0.1:3000). The servers' URLs come from
//! `TETHERED_POSTGRES_URL` and `TETHERED_MYSQL_URL` (`scripts/ensure-databases` starts
//! local ones).
//!
//! Its table lives in a namespace of its own (see `app.rs`): a schema or a database on the
//! server, or an SQLite file in a directory of its own in the temp directory. Ctrl-C stops
//! the service: the requests still running are cancelled, their statements stop in the
//! database, and the namespace is dropped (the SQLite directory removed).

mod app;
#[path = "../common/cli.rs"]
mod cli;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use app::{Backend, Repository};
use tethered::Ctx;
use tethered::axum::RequestCtxLayer;

const USAGE: &str = "usage: http_service [--backend sqlite|postgres|mysql] [--addr 127.0.0.1:PORT]";

struct Options {
    backend: Backend,
    addr: SocketAddr,
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    // SQLite by default: the service runs on a machine with no database server at all.
    let (mut backend, mut addr) = (Backend::Sqlite, SocketAddr::from(([127, 0, 0, 1], 3000)));
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--backend" => backend = value()?.parse()?,
            "--addr" => {
                let text = value()?;
                addr = text
                    .parse()
                    .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:3000"))?;
            }
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    Ok(Options { backend, addr })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let options = match cli::options("http_service", USAGE, parse_options) {
        Ok(options) => options,
        Err(exit) => return exit,
    };
    match serve(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("http_service: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(options: Options) -> Result<(), String> {
    let root = Ctx::background();
    let starting = root.with_timeout(Duration::from_secs(10));
    let repository = Repository::connect(&starting, options.backend)
        .await
        .map_err(|error| {
            format!(
                "cannot reach {} at {}: {error}{}",
                options.backend.name(),
                options.backend.url(),
                options.backend.hint()
            )
        })?;
    drop(starting);
    let repository = Arc::new(repository);
    let served = run(&root, &options, Arc::clone(&repository)).await;
    let ending = root.with_timeout(Duration::from_secs(10));
    let removed = repository
        .remove(&ending)
        .await
        .map_err(|error| format!("cannot drop the service's namespace: {error}"));
    served.and(removed)
}

/// Sets up the table and serves until Ctrl-C, which cancels the requests still running.
async fn run(root: &Ctx, options: &Options, repository: Arc<Repository>) -> Result<(), String> {
    let starting = root.with_timeout(Duration::from_secs(10));
    repository
        .set_up(&starting)
        .await
        .map_err(|error| format!("cannot create the users' table: {error}"))?;
    drop(starting);

    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", options.addr))?;
    let addr = listener.local_addr().unwrap_or(options.addr);
    let serving = root.child();
    let app = app::router(repository, RequestCtxLayer::new(serving.ctx().clone()));
    println!(
        "http_service ready on http://{addr} (backend {}): GET /users/1, POST /users, \
         GET /slow?secs=N, GET /metrics, GET /debug/in-flight",
        options.backend.name()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            // Without a signal handler there is no Ctrl-C to wait for: serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            serving.cancel("the service is shutting down");
        })
        .await
        .map_err(|error| format!("serving failed: {error}"))
}
