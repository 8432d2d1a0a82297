//! Behind a load balancer: two servers of the test's own behind a round-robin TCP balancer
//! (an in-process [`Proxy::balance`]), as a service reaches a pool of replicas or a cluster.
//!
//! A stop request travels over a new connection (PostgreSQL's CancelRequest), or over a kill
//! line opened through the same balancer (MariaDB's `KILL QUERY <id>`), so it may land on the
//! other server. PostgreSQL ignores a CancelRequest whose key it does not know: the stop is
//! asked again until it lands. MariaDB would stop whatever runs under that connection id
//! there, and the other server gives out the same ids: tethered kills only over lines on
//! the statement's own server. The test gives the other server's sessions those very ids
//! (bystanders, each running a sleep) and proves from both servers' views that every stop
//! reached its statement and no bystander was hit.

use std::collections::BTreeMap;
use std::time::Duration;

use tethered::{Ctx, Error, Executor, Pool, PoolConnection, PoolOptions, Sql, StatementOutcome};

use crate::backend::{Backend, unique};
use crate::proxy::{Proxy, server_address};
use crate::throwaway::Throwaway;

/// Pooled connections through the balancer, spread over both servers.
const POOLED: usize = 4;

/// The most sessions opened on a server while looking for bystander ids.
const LOOKING_FOR_IDS: usize = 40;

/// The reason every cancel of this test gives.
const REASON: &str = "balanced";

/// One server: its port, and a pool straight to it (the observer, and the bystanders).
struct Server<B: Backend> {
    port: i64,
    direct: Pool<B::Driver>,
}

impl<B: Backend> Server<B> {
    async fn running(&self, ctx: &Ctx, marker: &str) -> i64 {
        B::view(&self.direct, ctx, marker)
            .await
            .expect("the server's view")
            .running
    }

    async fn wait_running(&self, ctx: &Ctx, marker: &str, count: i64) {
        while self.running(ctx, marker).await < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A session's server (by port) and id.
async fn whereabouts<B: Backend>(
    connection: &mut PoolConnection<B::Driver>,
    ctx: &Ctx,
) -> (i64, u64) {
    let (port,): (i64,) = connection
        .fetch_one(ctx, B::SERVER_PORT)
        .await
        .expect("the server's port");
    let (id,): (u64,) = connection
        .fetch_one(ctx, B::SESSION_ID)
        .await
        .expect("the session id");
    (port, id)
}

pub async fn behind_a_load_balancer_every_stop_reaches_its_own_server_and_no_other<B: Backend>() {
    let throwaways = [
        Throwaway::start(B::THROWAWAY),
        Throwaway::start(B::THROWAWAY),
    ];
    let root = Ctx::background();
    let ctx = root.with_timeout(Duration::from_secs(120));
    let mut servers = Vec::new();
    for throwaway in &throwaways {
        let options = PoolOptions {
            max_connections: LOOKING_FOR_IDS + 2,
            ..PoolOptions::default()
        };
        let direct =
            B::pool_in(&throwaway.url(), throwaway.namespace(), options).expect("a direct pool");
        let (port,): (i64,) = direct
            .fetch_one(&ctx, B::SERVER_PORT)
            .await
            .expect("the server's port");
        servers.push(Server::<B> { port, direct });
    }
    // Ids only rise: the first server's are pushed ahead, so that the second server can
    // still give out the ids the pool's sessions get on the first.
    let mut ahead = Vec::new();
    for _ in 0..LOOKING_FOR_IDS / 2 {
        ahead.push(
            servers[0]
                .direct
                .acquire(&ctx)
                .await
                .expect("a direct session"),
        );
    }
    drop(ahead);
    let targets: Vec<String> = throwaways
        .iter()
        .map(|throwaway| {
            let url = throwaway.url();
            server_address(&url).expect("an address").to_owned()
        })
        .collect();
    let balancer = Proxy::balance(&targets).await.expect("a balancer");
    // Outcomes as the server finally gives them: the caller waits for the stop to settle.
    let options = PoolOptions {
        max_connections: POOLED,
        stop_wait: PoolOptions::default().cancel_grace,
        ..PoolOptions::default()
    };
    let url = balancer.url(&B::over_tcp(&throwaways[0].url()));
    let pool = B::pool_in(&url, throwaways[0].namespace(), options).expect("a balanced pool");

    let mut pooled = Vec::new();
    for turn in 0..POOLED {
        // Each server gets pooled connections; whatever else the driver opens (MariaDB's
        // kill lines) goes where the round robin sends it.
        balancer.send_next_to(turn % servers.len());
        let mut connection = pool.acquire(&ctx).await.expect("a pooled connection");
        let (port, id) = whereabouts::<B>(&mut connection, &ctx).await;
        pooled.push((connection, port, id));
    }
    for server in &servers {
        assert!(
            pooled.iter().any(|(_, port, _)| *port == server.port),
            "{}: the balancer sent no pooled connection to the server on port {}",
            B::NAME,
            server.port
        );
    }

    // Bystanders: on each server, sessions with the ids the pool has on the other one (where
    // ids are per server), each running a sleep; every other session opened on the way is
    // held, so the ids go on rising.
    let bystander_marker = unique("bystander");
    let bystanders = root.child();
    let mut held = Vec::new();
    let mut started = BTreeMap::new();
    let mut sleeping = Vec::new();
    for server in &servers {
        let wanted: Vec<u64> = pooled
            .iter()
            .filter(|(_, port, _)| *port != server.port)
            .map(|(_, _, id)| *id)
            .collect();
        let mut count = 0;
        for opened in 0..LOOKING_FOR_IDS {
            let mut connection = server.direct.acquire(&ctx).await.expect("a direct session");
            let (_, id) = whereabouts::<B>(&mut connection, &ctx).await;
            // Where ids are not per server none can match: one bystander runs anyway.
            if wanted.contains(&id) || (opened == 0 && !B::SESSION_IDS_PER_SERVER) {
                let sleep = Sql::new(B::sleep(60, &bystander_marker));
                let scope = bystanders.ctx().clone();
                sleeping.push(tokio::spawn(async move {
                    let result = connection.execute(&scope, sleep).await;
                    (connection, result)
                }));
                count += 1;
            } else {
                held.push(connection);
            }
            if wanted.iter().all(|wanted| id >= *wanted) {
                break;
            }
        }
        started.insert(server.port, count);
    }
    drop(held);
    if B::SESSION_IDS_PER_SERVER {
        let collisions: i64 = started.values().sum();
        assert!(
            collisions > 0,
            "{}: no session on either server had an id of the other's pooled sessions",
            B::NAME
        );
    }
    for server in &servers {
        server
            .wait_running(&ctx, &bystander_marker, started[&server.port])
            .await;
    }

    // Each pooled connection's statement is stopped in turn, alone, so every request it
    // sends goes through the balancer to whichever server is next.
    for (connection, port, id) in &mut pooled {
        let server = servers
            .iter()
            .find(|server| server.port == *port)
            .expect("a known server");
        let marker = unique("balanced");
        let scope = root.child();
        let statement = connection.execute(scope.ctx(), Sql::new(B::sleep(60, &marker)));
        let stop = async {
            server.wait_running(&ctx, &marker, 1).await;
            scope.cancel(REASON);
        };
        let (result, ()) = tokio::join!(statement, stop);
        match result {
            Err(Error::Canceled { cause, outcome }) => {
                assert_eq!(cause.reason(), Some(REASON), "{}", B::NAME);
                assert_eq!(
                    outcome,
                    StatementOutcome::Stopped,
                    "{}: session {id} on port {port}",
                    B::NAME
                );
            }
            other => panic!("{}: session {id} on port {port}: {other:?}", B::NAME),
        }
        assert_eq!(
            server.running(&ctx, &marker).await,
            0,
            "{}: the stopped statement still runs on its server",
            B::NAME
        );
        // The stop was consumed whole: the connection is the same session, and clean.
        assert_eq!(
            whereabouts::<B>(connection, &ctx).await,
            (*port, *id),
            "{}: the connection was not kept",
            B::NAME
        );
        for server in &servers {
            assert_eq!(
                server.running(&ctx, &bystander_marker).await,
                started[&server.port],
                "{}: a bystander on port {} was hit by the stop of session {id} on port {port}",
                B::NAME,
                server.port
            );
        }
    }

    bystanders.cancel("the test is over");
    for bystander in sleeping {
        let (_, result) = bystander.await.expect("a bystander panicked");
        assert!(
            matches!(result, Err(Error::Canceled { .. })),
            "{}: a bystander ended before the test did: {result:?}",
            B::NAME
        );
    }
    drop(pooled);
    pool.close();
    for server in servers {
        server.direct.close();
    }
}
