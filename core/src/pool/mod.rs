//! A pool of connections whose every checkout is bounded by a context, and which heals
//! before its callers see a broken connection.
//!
//! The waiting is tokio's fair [`Semaphore`] (one permit per connection that may be checked
//! out); idle connections are kept newest first, so the warmest is reused. Written here
//! rather than on deadpool: deadpool's checkout future, with its hooks and recycle steps,
//! cost about a third of tethered's per-statement overhead in the point-select benchmark,
//! and the pool must close a connection by default rather than return it (see [`Pooled`]).
//!
//! Healing, cheapest first:
//! - a warm checkout (a connection returned less than `ping_after_idle` ago) costs one lock
//!   and one clock read, and sends nothing;
//! - a connection idle for longer, or suspected (another one was just found dead), is
//!   pinged before it is handed out, and replaced if the ping fails;
//! - a statement on the pool that fails before it reached the server (see
//!   [`Error::is_retry_safe`]) is sent once more on a checked or new connection, within the
//!   same context;
//! - the maintenance ([`maintenance`]) closes connections past `idle_timeout` or
//!   `max_lifetime` and keeps `min_idle` open, in the background.

mod maintenance;
mod members;
mod options;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::connection::PoolConnection;
use crate::ctx::Ctx;
use crate::driver::{BoxFuture, Canceller as _, Connection, Driver};
use crate::error::{Error, Result, StatementOutcome};
use crate::observe::{InFlightStatement, Observer};
use crate::transaction::Transaction;
use members::{Member, Members};
pub use options::PoolOptions;

/// A hook run on every new connection before it is first handed out, under the context
/// of the checkout that opened it (or of the maintenance): session settings, say. Given to
/// [`Pool::with_after_connect`].
type AfterConnect<D> = Box<
    dyn for<'c> Fn(&'c Ctx, &'c mut PoolConnection<D>) -> BoxFuture<'c, Result<()>> + Send + Sync,
>;

/// A pool of connections to one database. Cloning shares the pool.
pub struct Pool<D: Driver> {
    shared: Arc<Shared<D>>,
}

pub(crate) struct Shared<D: Driver> {
    driver: D,
    options: PoolOptions,
    /// One permit per connection that may be checked out; closed with the pool.
    permits: Arc<Semaphore>,
    members: Mutex<Members<D>>,
    /// Connections open or opening, idle or checked out.
    open: AtomicUsize,
    waiting: AtomicUsize,
    after_connect: Option<AfterConnect<D>>,
    /// Woken whenever a connection leaves a closed pool.
    left: Notify,
    /// Ends the maintenance.
    maintenance: CancellationToken,
    /// Where the pool's statements are described: their spans, metrics and board.
    observer: Arc<Observer>,
}

impl<D: Driver> Shared<D> {
    fn members(&self) -> MutexGuard<'_, Members<D>> {
        // The lists stay consistent whatever panicked while holding them.
        self.members.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts out connections that were closed.
    fn forget(&self, closed: usize) {
        if closed > 0 {
            self.open.fetch_sub(closed, Ordering::Relaxed);
            if self.permits.is_closed() {
                self.left.notify_waiters();
            }
        }
    }

    /// Sets the pool's occupancy gauges (with the `metrics` feature), `idle` given by a
    /// caller that holds the members' lock, or read here.
    fn measure_occupancy(&self, idle: impl FnOnce() -> usize) {
        self.observer.meters.pool_occupancy(|| {
            (
                self.open.load(Ordering::Relaxed),
                idle(),
                self.waiting.load(Ordering::Relaxed),
            )
        });
    }
}

impl<D: Driver> Drop for Shared<D> {
    fn drop(&mut self) {
        self.maintenance.cancel();
    }
}

impl<D: Driver> Clone for Pool<D> {
    fn clone(&self) -> Pool<D> {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<D: Driver> std::fmt::Debug for Pool<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .field("options", &self.shared.options)
            .field("after_connect", &self.shared.after_connect.is_some())
            .finish()
    }
}

/// A snapshot of a pool's occupancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// The configured maximum.
    pub max_connections: usize,
    /// Connections currently open (or opening), idle or in use.
    pub open: usize,
    /// Open connections nobody is using.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl<D: Driver> Pool<D> {
    /// A pool that opens connections with `driver` on demand. Nothing is connected yet;
    /// inside a tokio runtime, the maintenance starts (when the options give it work).
    ///
    /// Refuses options that cannot work: no connections, `min_idle` over
    /// `max_connections`, or a cancel grace over an hour.
    pub fn new(driver: D, options: PoolOptions) -> Result<Pool<D>> {
        Pool::build(driver, options, None)
    }

    /// A pool like [`Pool::new`] whose every new connection first runs `hook` under the
    /// context of the checkout that opened it (or the maintenance's, which allows
    /// `acquire_timeout`): session settings, say. A hook that fails closes the connection,
    /// and the checkout fails with its error.
    ///
    /// ```no_run
    /// # use tethered_core::{Driver, Executor, Pool, PoolOptions, Result};
    /// # fn pool<D: Driver>(driver: D) -> Result<Pool<D>> {
    /// let pool = Pool::with_after_connect(driver, PoolOptions::default(), |ctx, connection| {
    ///     Box::pin(async move { connection.execute(ctx, "SET TIME ZONE 'UTC'").await.map(drop) })
    /// })?;
    /// # Ok(pool)
    /// # }
    /// ```
    pub fn with_after_connect<F>(driver: D, options: PoolOptions, hook: F) -> Result<Pool<D>>
    where
        F: for<'c> Fn(&'c Ctx, &'c mut PoolConnection<D>) -> BoxFuture<'c, Result<()>>
            + Send
            + Sync
            + 'static,
    {
        Pool::build(driver, options, Some(Box::new(hook)))
    }

    fn build(
        driver: D,
        options: PoolOptions,
        after_connect: Option<AfterConnect<D>>,
    ) -> Result<Pool<D>> {
        options.check()?;
        let observer = Observer::new(driver.endpoint(), options.slow_statement_after);
        let pool = Pool {
            shared: Arc::new(Shared {
                observer: Arc::new(observer),
                driver,
                permits: Arc::new(Semaphore::new(options.max_connections)),
                options,
                members: Mutex::new(Members::new()),
                open: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
                after_connect,
                left: Notify::new(),
                maintenance: CancellationToken::new(),
            }),
        };
        maintenance::start(&pool.shared);
        Ok(pool)
    }

    /// Checks out a connection, waiting no longer than `ctx` allows.
    ///
    /// A context that has already ended gets its cause at once, and nothing is sent.
    /// While every connection is busy this waits, in arrival order, until one is
    /// returned, the context ends ([`Error::Canceled`] with the cause), or the pool's
    /// acquire timeout passes ([`Error::PoolTimedOut`]). An idle connection past
    /// `ping_after_idle` is pinged first and replaced if it does not answer; opening a
    /// new connection (and its `after_connect` hook) is bounded by `ctx` too.
    ///
    /// Cancel safe: dropped, it leaves the pool as it was (a connection dropped
    /// mid-ping or mid-open is closed; the server sees its session end).
    pub async fn acquire(&self, ctx: &Ctx) -> Result<PoolConnection<D>> {
        ctx.check()?;
        let mut permit = match Arc::clone(&self.shared.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(Error::PoolClosed),
            Err(TryAcquireError::NoPermits) => self.wait_for_permit(ctx).await?,
        };
        let shared = &self.shared;
        loop {
            let mut closing = Vec::new();
            let taken =
                shared
                    .members()
                    .check_out_idle(&shared.options, Instant::now(), &mut closing);
            shared.forget(closing.len());
            drop(closing);
            let Some((connection, born, slot, ping)) = taken else {
                break;
            };
            let mut pooled = Pooled::new(connection, born, slot, shared, permit);
            if !ping {
                return Ok(self.hand_out(pooled));
            }
            // Boxed: rarely run, and inline it would make every checkout's future larger.
            match ctx.run(Box::pin(pooled.connection().ping())).await {
                Ok(Ok(())) => return Ok(self.hand_out(pooled)),
                // Dead: the others that idled as long may be too.
                Ok(Err(_)) => {
                    shared.members().suspect_all();
                    permit = pooled.release();
                }
                Err(cause) => return Err(cause.into()),
            }
        }
        self.open_pooled(ctx, permit).await
    }

    fn hand_out(&self, mut pooled: Pooled<D>) -> PoolConnection<D> {
        pooled.set_reusable(true);
        let shared = &self.shared;
        shared.measure_occupancy(|| shared.members().idle_count());
        let options = &shared.options;
        PoolConnection::new(
            pooled,
            Arc::clone(&shared.observer),
            options.cancel_grace,
            options.stop_wait,
        )
    }

    async fn wait_for_permit(&self, ctx: &Ctx) -> Result<OwnedSemaphorePermit> {
        let shared = &self.shared;
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        let began = Instant::now();
        let _waiter = Defer::new(|| {
            shared.waiting.fetch_sub(1, Ordering::Relaxed);
            shared.observer.meters.acquire_waited(began.elapsed());
        });
        let timeout = shared.options.acquire_timeout;
        let permit = ctx.run(Arc::clone(&shared.permits).acquire_owned());
        // The context's deadline already bounds the wait: the pool's own timeout needs a
        // timer only when it would end the wait first.
        let waited = if ctx.remaining().is_none_or(|left| timeout < left) {
            tokio::time::timeout(timeout, permit).await
        } else {
            Ok(permit.await)
        };
        match waited {
            Err(_elapsed) => Err(Error::PoolTimedOut { waited: timeout }),
            Ok(Err(cause)) => Err(cause.into()),
            Ok(Ok(Err(_closed))) => Err(Error::PoolClosed),
            Ok(Ok(Ok(permit))) => Ok(permit),
        }
    }

    /// Opens a new connection under `ctx` and `permit`, runs the `after_connect` hook on
    /// it, and hands it out.
    async fn open_pooled(
        &self,
        ctx: &Ctx,
        permit: OwnedSemaphorePermit,
    ) -> Result<PoolConnection<D>> {
        let member = self.open(ctx).await?;
        let shared = &self.shared;
        let Member {
            connection,
            canceller,
            born,
        } = member;
        let slot = shared.members().register(canceller);
        let pooled = Pooled::new(connection, born, slot, shared, permit);
        let mut connection = self.hand_out(pooled);
        if let Some(hook) = &shared.after_connect
            && let Err(error) = hook(ctx, &mut connection).await
        {
            connection.close();
            return Err(error);
        }
        Ok(connection)
    }

    /// Opens a new connection under `ctx`, counted as open while it is being opened.
    async fn open(&self, ctx: &Ctx) -> Result<Member<D>> {
        let shared = &self.shared;
        shared.open.fetch_add(1, Ordering::Relaxed);
        let opening = Defer::new(|| shared.forget(1));
        // Boxed: a driver's connect future is large and rarely run; inline, it would make
        // every checkout's future large too.
        let connection = ctx.run(Box::pin(shared.driver.connect(ctx))).await??;
        opening.disarm();
        Ok(Member::new(connection))
    }

    /// Marks every idle connection to be pinged before it is next handed out: one was
    /// just found dead, and the others may have died with it (a server restart, a kill of
    /// every idle session).
    pub(crate) fn suspect_idle(&self) {
        self.shared.members().suspect_all();
    }

    /// Checks out a connection and starts a transaction on it under `ctx` (see
    /// [`Transaction`]). A `BEGIN` that fails before it reached the server (see
    /// [`Error::is_retry_safe`]) is sent once more on another connection, as a statement
    /// on the pool is.
    ///
    /// Cancel safe: dropped, nothing is left open.
    pub async fn begin(&self, ctx: &Ctx) -> Result<Transaction<D>> {
        match self.acquire(ctx).await?.begin(ctx).await {
            Err(error) if error.is_retry_safe() => {
                self.suspect_idle();
                self.acquire(ctx).await?.begin(ctx).await
            }
            begun => begun,
        }
    }

    /// The driver this pool opens connections with.
    pub fn driver(&self) -> &D {
        &self.shared.driver
    }

    /// Every statement running on the pool's connections, or being stopped in the
    /// background, oldest first: what it is, how long it has run, its context's deadline
    /// and request id. Cheap enough to ask often (one lock, held to copy the entries); the
    /// board it reads is kept whatever else is installed.
    pub fn in_flight(&self) -> Vec<InFlightStatement> {
        self.shared.observer.board.snapshot()
    }

    /// How many connections are open, idle and awaited.
    pub fn status(&self) -> PoolStatus {
        PoolStatus {
            max_connections: self.shared.options.max_connections,
            open: self.shared.open.load(Ordering::Relaxed),
            idle: self.shared.members().idle_count(),
            waiting: self.shared.waiting.load(Ordering::Relaxed),
        }
    }

    /// Closes the pool at once: idle connections are closed now, checked-out ones when
    /// they are returned (a statement running on one runs to its end), every later
    /// [`Pool::acquire`] fails with [`Error::PoolClosed`], and the maintenance stops. To
    /// wait for the statements in flight, and stop them on the server at a deadline, use
    /// [`Pool::close_within`].
    pub fn close(&self) {
        let shared = &self.shared;
        shared.permits.close();
        shared.maintenance.cancel();
        let idle = shared.members().drain_idle();
        shared.forget(idle.len());
        drop(idle);
        shared.left.notify_waiters();
    }

    /// Closes the pool ([`Pool::close`]), then waits, within `ctx`, for every checked-out
    /// connection to be returned. When `ctx` ends first, every statement still running on
    /// the pool's connections is stopped on the server (a CancelRequest, a `KILL QUERY`),
    /// and the call returns once the server has acted on each request (within the pool's
    /// cancel grace) with [`Error::Canceled`] and [`StatementOutcome::Stopping`]: those
    /// statements end with the server's "interrupted" error, and their connections close
    /// as they are returned.
    ///
    /// Cancel safe: dropped, the pool stays closed and the statements run on.
    pub async fn close_within(&self, ctx: &Ctx) -> Result<()> {
        self.close();
        let shared = &self.shared;
        let all_returned = async {
            loop {
                let left = shared.left.notified();
                tokio::pin!(left);
                left.as_mut().enable();
                if shared.open.load(Ordering::Relaxed) == 0 {
                    return;
                }
                left.await;
            }
        };
        let Err(cause) = ctx.run(all_returned).await else {
            return Ok(());
        };
        let cancellers: Vec<_> = shared.members().checked_out().cloned().collect();
        let mut requests: FuturesUnordered<_> = cancellers
            .iter()
            .map(|canceller| canceller.cancel())
            .collect();
        let _ = tokio::time::timeout(shared.options.cancel_grace, async {
            while requests.next().await.is_some() {}
        })
        .await;
        Err(Error::Canceled {
            cause,
            outcome: StatementOutcome::Stopping,
        })
    }
}

/// Runs a closure when dropped, unless disarmed: bookkeeping that must happen however a
/// future ends.
struct Defer<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Defer<F> {
    fn new(action: F) -> Defer<F> {
        Defer(Some(action))
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for Defer<F> {
    fn drop(&mut self) {
        if let Some(action) = self.0.take() {
            action();
        }
    }
}

/// A checked-out connection and its permit. Dropped, it goes back to the pool only if it
/// is marked reusable, still open and young enough; otherwise it is closed. The
/// cancellation protocol clears the mark while a statement may be running, so a statement
/// abandoned in flight never returns its connection.
pub(crate) struct Pooled<D: Driver> {
    /// `Some` until dropped.
    connection: Option<D::Connection>,
    born: Instant,
    /// Where its stop handle is registered.
    slot: usize,
    reusable: bool,
    shared: Arc<Shared<D>>,
    // Declared last: released after the connection is back among the idle ones, so the
    // caller it wakes finds it there. `None` once released early.
    permit: Option<OwnedSemaphorePermit>,
}

impl<D: Driver> Pooled<D> {
    fn new(
        connection: D::Connection,
        born: Instant,
        slot: usize,
        shared: &Arc<Shared<D>>,
        permit: OwnedSemaphorePermit,
    ) -> Pooled<D> {
        Pooled {
            connection: Some(connection),
            born,
            slot,
            reusable: false,
            shared: Arc::clone(shared),
            permit: Some(permit),
        }
    }

    pub(crate) fn connection(&mut self) -> &mut D::Connection {
        self.connection
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }

    pub(crate) fn set_reusable(&mut self, reusable: bool) {
        self.reusable = reusable;
    }

    /// The connection's place on the pool's in-flight board: its slot among the members.
    pub(crate) fn place(&self) -> usize {
        self.slot
    }

    /// Closes the connection and gives back its permit, for another one.
    fn release(mut self) -> OwnedSemaphorePermit {
        self.reusable = false;
        self.permit
            .take()
            .expect("the permit is held until released")
    }
}

impl<D: Driver> Drop for Pooled<D> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let shared = &self.shared;
        let now = Instant::now();
        let keep = self.reusable
            && !connection.is_closed()
            && !shared.permits.is_closed()
            && !Member::<D>::past_lifetime(&shared.options, self.born, now);
        let mut members = shared.members();
        if keep {
            members.return_idle(self.slot, connection, self.born, now);
            shared.measure_occupancy(|| members.idle_count());
        } else {
            let canceller = members.unregister(self.slot);
            drop(members);
            drop((connection, canceller));
            shared.forget(1);
            shared.measure_occupancy(|| shared.members().idle_count());
        }
    }
}
