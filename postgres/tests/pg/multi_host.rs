//! A connection to the second host of a multi-host configuration is cancelled on that
//! host, not on the first one that accepts a TCP connection.

use std::time::Duration;

use tethered_core::{Ctx, Error, Executor, Pool, StatementOutcome};
use tethered_postgres::Postgres;
use tethered_postgres::tokio_postgres::{self, NoTls, config::Host};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::support::{Observer, PROMPTLY, options, unique, url};

/// A first host that accepts TCP connections and closes them at once: tokio-postgres moves
/// on to the next host, and a cancel request sent here would be lost.
async fn decoy() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let port = listener.local_addr().expect("its address").port();
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    (port, accepting)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_goes_to_the_host_the_connection_is_on() {
    let real: tokio_postgres::Config = url().parse().expect("the test server's URL");
    let Some(Host::Tcp(host)) = real.get_hosts().first().cloned() else {
        panic!("the test server must be reached over TCP: {}", url());
    };
    let real_port = real.get_ports().first().copied().unwrap_or(5432);
    let (decoy_port, decoy) = decoy().await;
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(decoy_port)
        .host(&host)
        .port(real_port)
        .user(real.get_user().expect("a user"))
        .dbname(real.get_dbname().expect("a database"));
    if let Some(password) = real.get_password() {
        config.password(password);
    }
    let pool = Pool::new(Postgres::new(config, NoTls), options(1)).expect("pool");
    let observer = Observer::connect().await;
    let marker = unique("multi_host");
    let request = Ctx::background().child();
    let cancel = async {
        observer.wait_running(&marker, Duration::from_secs(5)).await;
        request.cancel("user pressed stop");
        Instant::now()
    };

    // No deadline, so no server-side limit: only the cancel request can stop the sleep.
    let sleep = format!("SELECT pg_sleep(10) /* {marker} */");
    let (result, cancelled_at) = tokio::join!(pool.execute(&request, sleep.as_str()), cancel);

    let gone = observer
        .time_until_gone(&marker, Duration::from_secs(15))
        .await;
    println!(
        "multi-host: returned {:?} after the cancel, gone {gone:?} later",
        cancelled_at.elapsed()
    );
    assert!(
        matches!(
            result,
            Err(Error::Canceled {
                outcome: StatementOutcome::Stopped,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(gone <= PROMPTLY, "still running {gone:?} after the return");
    decoy.abort();
}
