//! A pool of connections whose every checkout is bounded by a context.
//!
//! The waiting is tokio's fair [`Semaphore`] (one permit per connection that may be open);
//! idle connections are kept newest first, so the warmest is reused. Written here rather
//! than on deadpool: deadpool's checkout future, with its hooks and recycle steps, cost
//! about a third of tethered's per-statement overhead in the point-select benchmark, and
//! the pool must close a connection by default rather than return it (see [`Pooled`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::connection::PoolConnection;
use crate::ctx::Ctx;
use crate::driver::{Connection, Driver};
use crate::error::{Error, Result};
use crate::transaction::Transaction;

/// How large a pool is and how long its operations may take.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The most connections open at once (default 10). At least 1.
    pub max_connections: usize,
    /// The longest [`Pool::acquire`] waits for a free connection while its context is
    /// still live (default 30 s); past it, [`Error::PoolTimedOut`].
    pub acquire_timeout: Duration,
    /// After asking the server to stop a statement, how long to keep asking and waiting for
    /// it to end before closing the connection and reporting the outcome as unknown
    /// (default 3 s, at most an hour). The stop runs in the background for this long,
    /// owning the connection (and its place in the pool); callers wait only `stop_wait`.
    /// The default outlasts MariaDB's own wait in `KILL`: up to 2 s
    /// (`SECONDS_TO_WAIT_FOR_KILL`) while the target holds a mutex the killer needs, as
    /// several `SLEEP()`s at once do, during which the statement cannot end either.
    pub cancel_grace: Duration,
    /// How long a caller whose context ended mid-statement waits for the server to confirm
    /// the stop before it gets [`StatementOutcome::Stopping`](crate::StatementOutcome) and
    /// control back (default 10 ms; a loopback server confirms in about 1 ms). At most
    /// `cancel_grace` is waited, whatever is set; setting it that high makes every outcome
    /// final, at the price of a caller held up by a server or network that does not answer.
    pub stop_wait: Duration,
}

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            cancel_grace: Duration::from_secs(3),
            stop_wait: Duration::from_millis(10),
        }
    }
}

const MAX_CANCEL_GRACE: Duration = Duration::from_secs(3600);

/// A pool of connections to one database. Cloning shares the pool.
pub struct Pool<D: Driver> {
    shared: Arc<Shared<D>>,
}

struct Shared<D: Driver> {
    driver: D,
    options: PoolOptions,
    /// One permit per connection that may be checked out; closed with the pool.
    permits: Arc<Semaphore>,
    /// Open connections nobody is using, newest last.
    idle: Mutex<Vec<D::Connection>>,
    /// Connections open or opening, idle or checked out.
    open: AtomicUsize,
    waiting: AtomicUsize,
}

impl<D: Driver> Shared<D> {
    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<D::Connection>> {
        // The list stays consistent whatever panicked while holding it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest idle connection that is still usable; closed ones are dropped.
    fn take_idle(&self) -> Option<D::Connection> {
        loop {
            let connection = self.idle_list().pop()?;
            if !connection.is_closed() {
                return Some(connection);
            }
            self.open.fetch_sub(1, Ordering::Relaxed);
        }
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
    /// A pool that opens connections with `driver` on demand. Nothing is connected yet.
    ///
    /// Refuses options that cannot work: no connections, or a cancel grace over an hour.
    pub fn new(driver: D, options: PoolOptions) -> Result<Pool<D>> {
        if options.max_connections == 0 || options.max_connections > Semaphore::MAX_PERMITS {
            return Err(Error::InvalidInput(format!(
                "a pool needs between 1 and {} connections, not {}",
                Semaphore::MAX_PERMITS,
                options.max_connections
            )));
        }
        if options.cancel_grace > MAX_CANCEL_GRACE {
            return Err(Error::InvalidInput(format!(
                "cancel_grace of {:?} is over the limit of {MAX_CANCEL_GRACE:?}",
                options.cancel_grace
            )));
        }
        Ok(Pool {
            shared: Arc::new(Shared {
                driver,
                permits: Arc::new(Semaphore::new(options.max_connections)),
                options,
                idle: Mutex::new(Vec::new()),
                open: AtomicUsize::new(0),
                waiting: AtomicUsize::new(0),
            }),
        })
    }

    /// Checks out a connection, waiting no longer than `ctx` allows.
    ///
    /// A context that has already ended gets its cause at once, and nothing is sent.
    /// While every connection is busy this waits, in arrival order, until one is
    /// returned, the context ends ([`Error::Canceled`] with the cause), or the pool's
    /// acquire timeout passes ([`Error::PoolTimedOut`]). Opening a new connection is
    /// bounded by `ctx` too.
    ///
    /// Cancel safe: dropped, it leaves the pool as it was.
    pub async fn acquire(&self, ctx: &Ctx) -> Result<PoolConnection<D>> {
        ctx.check()?;
        let permit = match Arc::clone(&self.shared.permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(Error::PoolClosed),
            Err(TryAcquireError::NoPermits) => self.wait_for_permit(ctx).await?,
        };
        let connection = match self.shared.take_idle() {
            Some(connection) => connection,
            None => self.open(ctx).await?,
        };
        let pooled = Pooled {
            connection: Some(connection),
            reusable: true,
            shared: Arc::clone(&self.shared),
            _permit: permit,
        };
        let options = &self.shared.options;
        Ok(PoolConnection::new(
            pooled,
            options.cancel_grace,
            options.stop_wait,
        ))
    }

    async fn wait_for_permit(&self, ctx: &Ctx) -> Result<OwnedSemaphorePermit> {
        let shared = &self.shared;
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiter = Defer::new(|| {
            shared.waiting.fetch_sub(1, Ordering::Relaxed);
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

    /// Opens a new connection under `ctx`, counted as open while it is being opened.
    async fn open(&self, ctx: &Ctx) -> Result<D::Connection> {
        let shared = &self.shared;
        shared.open.fetch_add(1, Ordering::Relaxed);
        let opening = Defer::new(|| {
            shared.open.fetch_sub(1, Ordering::Relaxed);
        });
        // Boxed: a driver's connect future is large and rarely run; inline, it would make
        // every checkout's future large too.
        let connection = ctx.run(Box::pin(shared.driver.connect())).await??;
        opening.disarm();
        Ok(connection)
    }

    /// Checks out a connection and starts a transaction on it under `ctx` (see
    /// [`Transaction`]).
    ///
    /// Cancel safe: dropped, nothing is left open.
    pub async fn begin(&self, ctx: &Ctx) -> Result<Transaction<D>> {
        self.acquire(ctx).await?.begin(ctx).await
    }

    /// The driver this pool opens connections with.
    pub fn driver(&self) -> &D {
        &self.shared.driver
    }

    /// How many connections are open, idle and awaited.
    pub fn status(&self) -> PoolStatus {
        PoolStatus {
            max_connections: self.shared.options.max_connections,
            open: self.shared.open.load(Ordering::Relaxed),
            idle: self.shared.idle_list().len(),
            waiting: self.shared.waiting.load(Ordering::Relaxed),
        }
    }

    /// Closes the pool: idle connections are closed at once, checked-out ones when they
    /// are returned, and every later [`Pool::acquire`] fails with [`Error::PoolClosed`].
    pub fn close(&self) {
        self.shared.permits.close();
        let idle = std::mem::take(&mut *self.shared.idle_list());
        self.shared.open.fetch_sub(idle.len(), Ordering::Relaxed);
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
/// is marked reusable; otherwise it is closed. The cancellation protocol clears the mark
/// while a statement may be running, so a statement abandoned in flight never returns its
/// connection.
pub(crate) struct Pooled<D: Driver> {
    /// `Some` until dropped.
    connection: Option<D::Connection>,
    reusable: bool,
    shared: Arc<Shared<D>>,
    // Declared last: released after the connection is back among the idle ones, so the
    // caller it wakes finds it there.
    _permit: OwnedSemaphorePermit,
}

impl<D: Driver> Pooled<D> {
    pub(crate) fn connection(&mut self) -> &mut D::Connection {
        self.connection
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }

    pub(crate) fn set_reusable(&mut self, reusable: bool) {
        self.reusable = reusable;
    }
}

impl<D: Driver> Drop for Pooled<D> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        if self.reusable && !connection.is_closed() && !self.shared.permits.is_closed() {
            self.shared.idle_list().push(connection);
        } else {
            drop(connection);
            self.shared.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
