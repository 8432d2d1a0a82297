//! A network that stops carrying anything mid-statement: the caller is answered at its
//! deadline, whatever the server or the network does, and the pool serves the next request
//! on another connection while the stop goes on in the background.

use std::time::Duration;

use tethered::{Cause, Error, Executor, PoolOptions, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::proxy::{Proxy, server_address};

pub async fn at_a_stalled_network_the_caller_is_answered_at_its_deadline_and_the_pool_moves_on<
    B: Backend,
>() {
    let url = B::url();
    let server = server_address(&url).unwrap_or_else(|| panic!("{url} names no server"));
    let proxy = Proxy::start(server, Duration::ZERO).await.expect("a proxy");
    // The default wait for the server's confirmation, and a grace far longer than the test
    // bounds: a caller that waited for the stop to settle would fail them.
    let options = PoolOptions {
        max_connections: 2,
        cancel_grace: Duration::from_secs(20),
        ..PoolOptions::default()
    };
    let stage = Stage::<B>::through_with(&proxy.url(&B::over_tcp(&url)), options).await;
    let root = &stage.root;
    let marker = unique("stalled_deadline");
    let request = root.with_timeout(Duration::from_millis(300));
    let deadline = request.deadline().expect("a deadline");
    // Every link open once the sleep runs freezes (the statement's, the driver's kill
    // lines); only what the driver opens afresh gets through.
    let stall = async {
        stage.wait_running(&marker, Duration::from_secs(5)).await;
        proxy.stall();
    };

    let (result, ()) = tokio::join!(stage.pool.execute(&request, B::sleep(10, &marker)), stall);
    let answered_after = deadline.elapsed();
    let next = Instant::now();
    let (session,): (u64,) = stage
        .pool
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("the next request, on another connection");
    let next_took = next.elapsed();
    let open_meanwhile = stage.pool.status().open;
    let gone = stage
        .time_until_gone(&marker, PoolOptions::default().cancel_grace + PROMPTLY)
        .await;

    println!(
        "{}: stalled link: answered {answered_after:?} after the 300 ms deadline ({result:?}); \
         the next request took {next_took:?} (session {session}); the sleep gone {gone:?} later",
        B::NAME
    );
    let Err(Error::Canceled { cause, outcome }) = result else {
        panic!("expected the deadline, got {result:?}");
    };
    assert_eq!(cause, Cause::DeadlineExceeded);
    // The reply cannot come back over the frozen link: the stop is still under way.
    assert_eq!(outcome, StatementOutcome::Stopping);
    assert!(
        answered_after <= PROMPTLY,
        "answered {answered_after:?} after the deadline"
    );
    assert!(
        next_took <= PROMPTLY,
        "the next request waited {next_took:?}"
    );
    assert_eq!(
        open_meanwhile, 2,
        "the stop kept its connection; another served"
    );
    assert!(
        gone <= PROMPTLY,
        "the sleep ran on {gone:?} after the request"
    );
    stage.sweep(&marker).await;
    stage.finish().await;
}
