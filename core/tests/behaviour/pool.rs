//! The pool's own bookkeeping: reuse order, health on checkout, limits, fairness, close.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tethered_core::{Ctx, Error, Executor};

use crate::double::{OnCancel, Server};

/// Which session a checked-out connection is.
async fn session(pool: &tethered_core::Pool<crate::double::FakeDriver>, server: &Server) -> usize {
    let ctx = Ctx::background();
    pool.execute(&ctx, "rows 0").await.expect("a statement");
    *server.sessions().last().expect("a session")
}

#[tokio::test(start_paused = true)]
async fn the_most_recently_returned_connection_is_reused_first() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(2);
    let ctx = Ctx::background();
    let mut first = pool.acquire(&ctx).await.expect("acquire");
    let mut second = pool.acquire(&ctx).await.expect("acquire");
    first
        .execute(&ctx, "rows 0")
        .await
        .expect("first is session 1");
    second
        .execute(&ctx, "rows 0")
        .await
        .expect("second is session 2");
    drop(first);
    drop(second);

    assert_eq!(session(&pool, &server).await, 2);
    assert_eq!(pool.status().idle, 2);
    assert_eq!(Server::count(&server.connects), 2);
}

#[tokio::test(start_paused = true)]
async fn a_connection_closed_while_idle_is_dropped_at_checkout() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    assert_eq!(session(&pool, &server).await, 1);
    server.kill(1);

    assert_eq!(session(&pool, &server).await, 2);
    assert_eq!(pool.status().open, 1);
    assert_eq!(Server::count(&server.closes), 1);
}

#[tokio::test(start_paused = true)]
async fn failed_connects_are_reported_and_never_count_as_open() {
    let server = Server::new(OnCancel::Stop);
    server.refuse_connects.store(2, Ordering::SeqCst);
    let pool = server.pool(2);
    let ctx = Ctx::background();

    for _ in 0..2 {
        let refused = pool.acquire(&ctx).await;
        assert!(
            matches!(refused, Err(Error::Connection { .. })),
            "{refused:?}"
        );
    }
    assert_eq!(pool.status().open, 0);
    let _one = pool.acquire(&ctx).await.expect("the server accepts again");
    let _two = pool.acquire(&ctx).await.expect("a second connection");
    assert_eq!(pool.status().open, 2);
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_callers_never_open_more_than_the_maximum() {
    let server = Server::new(OnCancel::Stop);
    server.refuse_connects.store(3, Ordering::SeqCst);
    // Connecting takes a moment, so callers overlap while connections are being opened.
    server.connect_millis.store(1, Ordering::SeqCst);
    let pool = server.pool(3);
    let callers: Vec<_> = (0..40)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let ctx = Ctx::background();
                let Ok(mut connection) = pool.acquire(&ctx).await else {
                    return 0;
                };
                connection
                    .execute(&ctx, "sleep 5")
                    .await
                    .expect("a statement");
                pool.status().open
            })
        })
        .collect();

    let mut most_open = 0;
    for caller in callers {
        most_open = most_open.max(caller.await.expect("caller"));
    }
    assert_eq!(most_open, 3);
    assert_eq!(Server::count(&server.connects), 3);
    assert_eq!(
        pool.status(),
        tethered_core::PoolStatus {
            max_connections: 3,
            open: 3,
            idle: 3,
            waiting: 0,
        }
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_callers_are_served_in_arrival_order() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(1);
    let ctx = Ctx::background();
    let held = pool.acquire(&ctx).await.expect("acquire");
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));

    let waiters: Vec<_> = (0..4)
        .map(|n| {
            let (pool, order) = (pool.clone(), Arc::clone(&order));
            tokio::spawn(async move {
                // Staggered arrivals, one millisecond apart.
                tokio::time::sleep(Duration::from_millis(n)).await;
                let connection = pool.acquire(&Ctx::background()).await.expect("acquire");
                order.lock().expect("order").push(n);
                tokio::time::sleep(Duration::from_millis(10)).await;
                drop(connection);
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(pool.status().waiting, 4);
    drop(held);
    for waiter in waiters {
        waiter.await.expect("waiter");
    }

    assert_eq!(*order.lock().expect("order"), [0, 1, 2, 3]);
    assert_eq!(pool.status().waiting, 0);
}

#[tokio::test(start_paused = true)]
async fn a_closed_pool_closes_its_connections_and_refuses_callers() {
    let server = Server::new(OnCancel::Stop);
    let pool = server.pool(2);
    let ctx = Ctx::background();
    let held = pool.acquire(&ctx).await.expect("acquire");
    drop(pool.acquire(&ctx).await.expect("a second, returned idle"));
    let waiting = tokio::spawn({
        let pool = pool.clone();
        async move {
            let _second = pool
                .acquire(&Ctx::background())
                .await
                .expect("the idle one");
            pool.acquire(&Ctx::background()).await.map(drop)
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;

    pool.close();
    assert!(matches!(
        waiting.await.expect("waiter"),
        Err(Error::PoolClosed)
    ));
    assert!(matches!(pool.acquire(&ctx).await, Err(Error::PoolClosed)));
    drop(held);
    assert_eq!(
        Server::count(&server.closes),
        2,
        "the idle and the returned one"
    );
    assert_eq!(pool.status().open, 0);
}
