//! The smallest pool that gives each statement exclusive use of a connection: what the raw
//! drivers are measured with, so they pay for a checkout as tethered and sqlx do, and no
//! more.

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, PoisonError};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Open sessions (a connection with its prepared statements) and one permit per session.
/// Waiting is tokio's fair semaphore, as in tethered's pool.
pub struct RawPool<S> {
    idle: Mutex<Vec<S>>,
    free: Semaphore,
}

impl<S> RawPool<S> {
    /// A pool of `sessions`, all opened beforehand.
    pub fn new(sessions: Vec<S>) -> RawPool<S> {
        RawPool {
            free: Semaphore::new(sessions.len()),
            idle: Mutex::new(sessions),
        }
    }

    /// Waits for a session; it goes back to the pool when the checkout is dropped, even if
    /// a statement on it was abandoned half-way (the raw drivers' own behaviour is what
    /// the cancellation workload measures).
    pub async fn checkout(&self) -> Checkout<'_, S> {
        let permit = self
            .free
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let session = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .expect("a permit means an idle session");
        Checkout {
            pool: self,
            session: Some(session),
            _permit: permit,
        }
    }
}

/// A session checked out of a [`RawPool`].
pub struct Checkout<'p, S> {
    pool: &'p RawPool<S>,
    /// `Some` until dropped.
    session: Option<S>,
    // Declared last: released after the session is back, so the waiter it wakes finds it.
    _permit: SemaphorePermit<'p>,
}

impl<S> Deref for Checkout<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        self.session.as_ref().expect("present until dropped")
    }
}

impl<S> DerefMut for Checkout<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        self.session.as_mut().expect("present until dropped")
    }
}

impl<S> Drop for Checkout<'_, S> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(session);
        }
    }
}
