//! The pool heals before its callers see a broken connection, on the real servers: sessions
//! the server killed, expired or lost in a restart are replaced, a cached statement the
//! schema changed is prepared again, connections are renewed by `max_lifetime` and
//! `idle_timeout` (new sessions in the server's own view), and closing the pool under load
//! stops what still runs on the server.
//!
//! What is asserted holds on any machine (every request succeeds, session ids are new, a
//! statement is gone from the server's view); how long healing took is printed.

use std::collections::HashSet;
use std::time::Duration;

use tethered::{Ctx, Error, Executor, Pool, PoolConnection, PoolOptions, Sql, StatementOutcome};
use tokio::time::Instant;

use crate::backend::{Backend, PROMPTLY, Stage, unique};
use crate::throwaway::Throwaway;

/// How long the server may take to show a session gone, or the maintenance to act: far
/// above any delay on a loaded machine, so only a pool that never heals fails.
const EVENTUALLY: Duration = Duration::from_secs(60);

/// The session ids of `n` connections, opened at once and then returned idle.
async fn warm<B: Backend>(pool: &Pool<B::Driver>, ctx: &Ctx, n: usize) -> Vec<u64> {
    let mut held = Vec::new();
    let mut sessions = Vec::new();
    for _ in 0..n {
        let mut connection = pool.acquire(ctx).await.expect("acquire");
        let (session,): (u64,) = connection
            .fetch_one(ctx, B::SESSION_ID)
            .await
            .expect("the session id");
        sessions.push(session);
        held.push(connection);
    }
    sessions
}

/// Runs `n` requests on `pool`, one after another; each must succeed. Returns the
/// sessions they ran on, and prints how long they took.
async fn requests<B: Backend>(pool: &Pool<B::Driver>, ctx: &Ctx, n: usize, what: &str) -> Vec<u64> {
    let mut sessions = Vec::new();
    let mut latencies = Vec::new();
    for request in 0..n {
        let start = Instant::now();
        let result: tethered::Result<(u64,)> = pool.fetch_one(ctx, B::SESSION_ID).await;
        latencies.push(start.elapsed());
        match result {
            Ok((session,)) => sessions.push(session),
            Err(error) => panic!(
                "{}: request {request} of {n} after {what} failed: {error}",
                B::NAME
            ),
        }
    }
    println!("{}: {n} requests after {what}: {latencies:?}", B::NAME);
    sessions
}

/// Waits until none of `sessions` is in the server's view.
async fn until_gone<B: Backend>(stage: &Stage<B>, sessions: &[u64]) {
    let start = Instant::now();
    for &session in sessions {
        // A view that could not be read is asked again.
        while stage.session_exists(session).await.unwrap_or(true) {
            assert!(
                start.elapsed() < EVENTUALLY,
                "{}: session {session} still exists after {EVENTUALLY:?}",
                B::NAME
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn no_pings(max_connections: usize) -> PoolOptions {
    PoolOptions {
        max_connections,
        ping_after_idle: None,
        ..PoolOptions::default()
    }
}

/// Kills every idle pooled session from another session, then sends twice as many
/// requests: all succeed. Pings are off, so this is the resend of a statement that
/// certainly did not reach the server, and the check of the other idle connections it
/// sets off.
pub async fn every_idle_session_killed_on_the_server_then_every_request_succeeds<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let pool = stage.pool_with(no_pings(8));
    let killed = warm::<B>(&pool, root, 8).await;
    for &session in &killed {
        stage.as_observer(B::terminate(session)).await;
    }
    until_gone(&stage, &killed).await;

    let sessions = requests::<B>(&pool, root, 16, "a kill of every idle session").await;

    let killed: HashSet<u64> = killed.into_iter().collect();
    assert!(sessions.iter().all(|session| !killed.contains(session)));
    stage.finish().await;
}

/// Sessions that the server closes after one idle second (set per session by an
/// `after_connect` hook, never server-wide), left idle past it: the next requests all
/// succeed, on new sessions. The pool's default `ping_after_idle` finds them dead.
pub async fn idle_sessions_the_server_expired_then_every_request_succeeds<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let options = PoolOptions {
        max_connections: 4,
        ..PoolOptions::default()
    };
    let pool = Pool::with_after_connect(
        stage.driver(),
        options,
        |ctx: &Ctx, connection: &mut PoolConnection<B::Driver>| {
            Box::pin(async move {
                connection
                    .execute(ctx, B::EXPIRE_WHEN_IDLE_FOR_A_SECOND)
                    .await
                    .map(drop)
            })
        },
    )
    .expect("a pool");
    let expired = warm::<B>(&pool, root, 4).await;
    until_gone(&stage, &expired).await;

    let sessions = requests::<B>(&pool, root, 8, "the server expired every idle session").await;

    assert!(sessions.iter().all(|session| !expired.contains(session)));
    stage.finish().await;
}

/// A server of the test's own is restarted under an idle pool: every request afterwards
/// succeeds.
pub async fn a_quiet_server_restart_then_every_request_succeeds<B: Backend>() {
    let mut server = Throwaway::start(B::THROWAWAY);
    let root = Ctx::background();
    let ctx = root.with_timeout(Duration::from_secs(60));
    let pool = B::pool_in(&server.url(), server.namespace(), no_pings(4)).expect("a pool");
    warm::<B>(&pool, &ctx, 4).await;

    server.restart();

    requests::<B>(&pool, &ctx, 8, "a restart of the server").await;
    pool.close();
}

/// After `ALTER TABLE ... ADD COLUMN`, a `SELECT *` cached as a prepared statement on the
/// connection succeeds on its first try, and keeps succeeding: PostgreSQL refuses the
/// stale plan (0A000), which is dropped and prepared again.
pub async fn a_cached_select_star_succeeds_after_a_column_is_added<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    stage
        .setup("CREATE TABLE altered (id INT PRIMARY KEY)")
        .await;
    stage.setup("INSERT INTO altered (id) VALUES (1)").await;
    let select = || {
        Sql::new(format!(
            "SELECT * FROM altered WHERE id = {}",
            B::placeholder(1)
        ))
        .bind(1)
    };
    let before = stage.pool.fetch_rows(root, select()).await.expect("cached");
    assert_eq!(before.len(), 1);

    stage
        .setup("ALTER TABLE altered ADD COLUMN extra INT")
        .await;

    for attempt in 0..3 {
        let after = stage.pool.fetch_rows(root, select()).await;
        let rows = after.unwrap_or_else(|error| panic!("{}: attempt {attempt}: {error}", B::NAME));
        assert_eq!(rows.len(), 1);
    }
    stage.finish().await;
}

/// Waits until a request runs on a session other than `old`; returns it.
async fn until_replaced<B: Backend>(pool: &Pool<B::Driver>, ctx: &Ctx, old: u64) -> u64 {
    let start = Instant::now();
    loop {
        let (session,): (u64,) = pool.fetch_one(ctx, B::SESSION_ID).await.expect("a request");
        if session != old {
            println!("{}: replaced after {:?}", B::NAME, start.elapsed());
            return session;
        }
        assert!(
            start.elapsed() < EVENTUALLY,
            "{}: session {old} never replaced",
            B::NAME
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A connection older than `max_lifetime` is replaced, though it is in use all along: the
/// server sees a new session, and the old one gone.
pub async fn max_lifetime_replaces_connections_with_new_sessions<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let pool = stage.pool_with(PoolOptions {
        max_connections: 1,
        max_lifetime: Some(Duration::from_secs(1)),
        ..PoolOptions::default()
    });
    let (old,): (u64,) = pool
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("a request");

    let new = until_replaced::<B>(&pool, root, old).await;

    assert_ne!(new, old);
    until_gone(&stage, &[old]).await;
    stage.finish().await;
}

/// A connection idle past `idle_timeout` is closed by the maintenance (the server sees the
/// session end while nobody uses the pool), and the next request opens a new one.
pub async fn idle_timeout_replaces_connections_with_new_sessions<B: Backend>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let pool = stage.pool_with(PoolOptions {
        max_connections: 1,
        idle_timeout: Some(Duration::from_secs(1)),
        ..PoolOptions::default()
    });
    let (old,): (u64,) = pool
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("a request");

    until_gone(&stage, &[old]).await;
    assert_eq!(pool.status().open, 0);

    let (new,): (u64,) = pool
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("a request");
    assert_ne!(new, old);
    stage.finish().await;
}

/// `close_within` a deadline, while statements run that would outlast it: the call returns
/// with the stops sent, and the statements are gone from the server's view promptly. The
/// statements are CPU-bound (which both servers stop at once), not sleeps: MariaDB's `KILL`
/// waits up to 2 s on each of several `SLEEP()`s at once, holding up other sessions; alone,
/// so that they burn no CPU beside other tests.
pub async fn close_under_load_stops_in_flight_statements_on_the_server_by_its_deadline<
    B: Backend,
>() {
    let stage = Stage::<B>::alone(1).await;
    let marker = unique("closing");
    let pool = stage.pool_with(PoolOptions {
        max_connections: 2,
        ..PoolOptions::default()
    });
    let mut statements: Vec<_> = (0..2)
        .map(|_| {
            let (pool, sql) = (pool.clone(), B::busy(&marker));
            tokio::spawn(async move { pool.execute(&Ctx::background(), sql).await })
        })
        .collect();
    let start = Instant::now();
    // A view that could not be read is asked again.
    while stage.try_running(&marker).await.unwrap_or(0) < 2 {
        if let Some(ended) = statements
            .iter_mut()
            .find(|statement| statement.is_finished())
        {
            panic!(
                "a statement of minutes ended before the close: {:?}",
                ended.await
            );
        }
        assert!(start.elapsed() < EVENTUALLY, "the statements never all ran");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let closing = stage.root.with_timeout(Duration::from_millis(300));
    let closed = pool.close_within(&closing).await;
    let returned = start.elapsed();

    assert_eq!(
        closed.as_ref().err().and_then(Error::outcome),
        Some(StatementOutcome::Stopping),
        "{closed:?}"
    );
    let gone = stage.time_until_gone(&marker, PROMPTLY).await;
    for statement in statements {
        let result = statement.await.expect("the caller");
        assert!(
            result.is_err(),
            "a statement of minutes was stopped: {result:?}"
        );
    }
    println!(
        "{}: close_within(300 ms) returned after {returned:?}; statements gone {gone:?} later",
        B::NAME
    );
    assert_eq!(pool.status().open, 0);
    stage.finish().await;
}

/// A 16 MiB value, over MariaDB's default `max_allowed_packet`: refused before it is sent
/// (`InvalidInput`, naming the setting) or stored; never a broken connection, and the same
/// connection runs the next statement.
pub async fn a_value_too_big_for_the_server_is_refused_or_stored_never_a_broken_connection<
    B: Backend,
>() {
    let stage = Stage::<B>::new(1).await;
    let root = &stage.root;
    let mut connection = stage.pool.acquire(root).await.expect("acquire");
    let big = "x".repeat(16 << 20);
    let sql = Sql::new(format!("SELECT COALESCE({}, 'x') = 'x'", B::placeholder(1))).bind(big);

    match connection.execute(root, sql).await {
        Ok(_) => {}
        Err(Error::InvalidInput(message)) => {
            assert!(message.contains("max_allowed_packet"), "{message}");
        }
        Err(other) => panic!("{}: {other:?}", B::NAME),
    }
    let (session,): (u64,) = connection
        .fetch_one(root, B::SESSION_ID)
        .await
        .expect("the connection still works");
    assert!(session > 0);
    drop(connection);
    stage.finish().await;
}

/// A password given in the URL is in no error's `Display` or `Debug`, nor in the pool's or
/// the driver's `Debug`: a refused login, and a malformed URL.
pub async fn a_password_never_appears_in_errors_or_debug_output<B: Backend>()
where
    B::Driver: std::fmt::Debug,
{
    let password = unique("SeCrEt");
    let url = B::url();
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let with_password = format!("{scheme}://nobody_{}:{password}@{host}", std::process::id());
    let ctx = Ctx::background();
    let timeout = ctx.with_timeout(Duration::from_secs(10));

    let refused = B::connect(&timeout, &with_password, PoolOptions::default())
        .await
        .expect_err("no such user");
    let pool = B::pool_in(&with_password, "x", PoolOptions::default()).expect("a pool");
    let malformed = format!("{scheme}://nobody:{password}@127.0.0.1:not_a_port/x");
    let malformed = B::connect(&timeout, &malformed, PoolOptions::default())
        .await
        .expect_err("a malformed URL");

    for (what, text) in [
        ("refused login, Display", refused.to_string()),
        ("refused login, Debug", format!("{refused:?}")),
        ("malformed URL, Display", malformed.to_string()),
        ("malformed URL, Debug", format!("{malformed:?}")),
        ("pool, Debug", format!("{pool:?}")),
        ("driver, Debug", format!("{:?}", pool.driver())),
    ] {
        assert!(
            !text.contains(&password),
            "{}: {what} shows the password: {text}",
            B::NAME
        );
    }
    println!("{}: {refused}", B::NAME);
}
