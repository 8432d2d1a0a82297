//! A pool of connections whose every checkout is bounded by a context.
//!
//! Built on deadpool's managed pool (a semaphore-fair queue, recycling on checkout, and
//! `Object::take` to close a connection instead of returning it): what it lacks is the
//! context, which [`Pool::acquire`] adds by racing the checkout against it.

use std::future::Future;
use std::time::Duration;

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};

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
    /// After asking the server to stop a statement, how long to wait for it to end before
    /// closing the connection and reporting the outcome as unknown (default 1 s, at most
    /// an hour).
    pub cancel_grace: Duration,
}

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(30),
            cancel_grace: Duration::from_secs(1),
        }
    }
}

const MAX_CANCEL_GRACE: Duration = Duration::from_secs(3600);

/// A pool of connections to one database. Cloning shares the pool.
pub struct Pool<D: Driver> {
    inner: managed::Pool<Manager<D>>,
    options: PoolOptions,
}

pub(crate) type Pooled<D> = managed::Object<Manager<D>>;

impl<D: Driver> Clone for Pool<D> {
    fn clone(&self) -> Pool<D> {
        Pool {
            inner: self.inner.clone(),
            options: self.options.clone(),
        }
    }
}

impl<D: Driver> std::fmt::Debug for Pool<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("status", &self.status())
            .field("options", &self.options)
            .finish()
    }
}

/// A snapshot of a pool's occupancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// The configured maximum.
    pub max_connections: usize,
    /// Connections currently open, idle or in use.
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
        if options.max_connections == 0 {
            return Err(Error::InvalidInput(
                "a pool needs max_connections of at least 1".into(),
            ));
        }
        if options.cancel_grace > MAX_CANCEL_GRACE {
            return Err(Error::InvalidInput(format!(
                "cancel_grace of {:?} is over the limit of {MAX_CANCEL_GRACE:?}",
                options.cancel_grace
            )));
        }
        let inner = managed::Pool::builder(Manager { driver })
            .max_size(options.max_connections)
            .queue_mode(managed::QueueMode::Lifo)
            .build()
            .map_err(|error| Error::InvalidInput(error.to_string()))?;
        Ok(Pool { inner, options })
    }

    /// Checks out a connection, waiting no longer than `ctx` allows.
    ///
    /// A context that has already ended gets its cause at once, and nothing is sent.
    /// While every connection is busy this waits, until one is returned, the context ends
    /// ([`Error::Canceled`] with the cause), or the pool's acquire timeout passes
    /// ([`Error::PoolTimedOut`]). Opening a new connection is part of the wait.
    ///
    /// Cancel safe: dropped, it leaves the pool as it was.
    pub async fn acquire(&self, ctx: &Ctx) -> Result<PoolConnection<D>> {
        let timeout = self.options.acquire_timeout;
        let object = match tokio::time::timeout(timeout, ctx.run(self.inner.get())).await {
            Err(_elapsed) => return Err(Error::PoolTimedOut { waited: timeout }),
            Ok(Err(cause)) => return Err(cause.into()),
            Ok(Ok(checkout)) => checkout.map_err(|error| match error {
                PoolError::Backend(error) => error,
                PoolError::Closed => Error::PoolClosed,
                other => Error::connection(other.to_string(), None),
            })?,
        };
        Ok(PoolConnection::new(object, self.options.cancel_grace))
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
        &self.inner.manager().driver
    }

    /// How many connections are open, idle and awaited.
    pub fn status(&self) -> PoolStatus {
        let status = self.inner.status();
        PoolStatus {
            max_connections: status.max_size,
            open: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// Closes the pool: idle connections are closed at once, checked-out ones when they
    /// are returned, and every later [`Pool::acquire`] fails with [`Error::PoolClosed`].
    pub fn close(&self) {
        self.inner.close();
    }
}

/// Adapts a [`Driver`] to deadpool.
pub(crate) struct Manager<D> {
    driver: D,
}

impl<D: Driver> managed::Manager for Manager<D> {
    type Type = D::Connection;
    type Error = Error;

    fn create(&self) -> impl Future<Output = Result<D::Connection>> + Send {
        // Boxed: a driver's connect future is large, and deadpool's checkout future (which
        // every statement awaits) would otherwise carry it inline and copy it around.
        Box::pin(self.driver.connect())
    }

    async fn recycle(&self, connection: &mut D::Connection, _: &Metrics) -> RecycleResult<Error> {
        if connection.is_closed() {
            return Err(RecycleError::message("the connection was closed"));
        }
        Ok(())
    }
}
