//! The context every query is tethered to.
//!
//! A [`Ctx`] is a node in a tree. Scopes ([`Scope`]) derived from it can be cancelled, carry a
//! deadline, or both; cancelling a scope ends its whole subtree and never its parent or
//! siblings. Values of any `'static` type can be attached and are seen by descendants only.
//!
//! Wake-ups and child registration come from tokio-util's [`CancellationToken`] tree. What
//! it lacks is ours: the cause, the deadline, the values, and a lock-free [`Ctx::check`]
//! (the token's `is_cancelled` takes a mutex; our per-scope cancel records are set-once
//! cells read with one atomic load each).

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Poll;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::cause::Cause;

/// The reason given when a [`Scope`] is dropped without an explicit [`Scope::cancel`].
pub const SCOPE_ENDED: &str = "scope ended";

/// A request's context: cancellation, deadline and request-scoped values.
///
/// Cloning is a pointer copy. A clone observes the same cancellation and deadline but owns
/// nothing: only the [`Scope`] that derived a context can cancel it, and dropping that scope
/// cancels it whatever clones remain.
#[derive(Clone)]
pub struct Ctx {
    node: Arc<Node>,
}

struct Node {
    parent: Option<Arc<Node>>,
    /// Where a detached root ([`Ctx::without_cancel`]) finds the values it keeps: the
    /// context it was detached from. Values are looked up there after this node's own
    /// ancestry; cancellation and deadlines never are.
    values_of: Option<Arc<Node>>,
    token: CancellationToken,
    /// Effective deadline: the minimum of this node's own and every ancestor's.
    deadline: Option<Instant>,
    /// Set once, by [`Scope::cancel`]; `None` forever on value nodes and roots.
    cancelled: OnceLock<CancelRecord>,
    /// Whether this node or an ancestor is a [`Scope`]: without one, nothing can cancel it.
    cancellable: bool,
    /// The first cause this node reported; later calls return it unchanged.
    reported: OnceLock<Cause>,
    value: Option<Box<dyn Any + Send + Sync>>,
    live_children: AtomicUsize,
    /// The root's book of live scopes, shared by every node under it.
    scopes: Arc<ScopeBook>,
    /// This node's entry in the book, if it is a scope.
    entry: Option<usize>,
}

/// The scopes alive under one root, each with when it was made: what
/// [`Ctx::live_scopes`] reads.
#[derive(Default)]
struct ScopeBook {
    born: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// When each live scope was made; `None` where one has gone.
    born: Vec<Option<Instant>>,
    /// The places of scopes that have gone, for the next.
    free: Vec<usize>,
    live: usize,
}

impl ScopeBook {
    fn entries(&self) -> MutexGuard<'_, Entries> {
        self.born.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter(&self, born: Instant) -> usize {
        let mut entries = self.entries();
        entries.live += 1;
        match entries.free.pop() {
            Some(place) => {
                entries.born[place] = Some(born);
                place
            }
            None => {
                entries.born.push(Some(born));
                entries.born.len() - 1
            }
        }
    }

    fn leave(&self, place: usize) {
        let mut entries = self.entries();
        entries.live -= 1;
        entries.born[place] = None;
        entries.free.push(place);
    }
}

/// How many scopes are alive under a root, and how old the oldest is: a scope held far
/// longer than its request lives (a context kept in a cache, a task that never ended) shows
/// here. See [`Ctx::live_scopes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveScopes {
    /// Scopes derived under the root whose contexts are still held somewhere (a scope's
    /// context lives on after the scope ends while a clone of it is held).
    pub count: usize,
    /// How long ago the oldest of them was made.
    pub oldest_age: Option<Duration>,
}

enum Child {
    Scope {
        deadline: Option<Instant>,
        born: Instant,
    },
    Value(Box<dyn Any + Send + Sync>),
}

struct CancelRecord {
    cause: Cause,
    at: Instant,
}

impl Node {
    fn root(values_of: Option<Arc<Node>>) -> Node {
        Node {
            scopes: Arc::default(),
            entry: None,
            parent: None,
            values_of,
            token: CancellationToken::new(),
            deadline: None,
            cancelled: OnceLock::new(),
            cancellable: false,
            reported: OnceLock::new(),
            value: None,
            live_children: AtomicUsize::new(0),
        }
    }

    /// A child of `parent`: a scope (its own token, registered under the parent's) or a
    /// value node (sharing the parent's token, so it ends exactly when the parent does).
    fn derive(parent: &Arc<Node>, child: Child) -> Node {
        let (token, deadline, value, cancellable, entry) = match child {
            Child::Scope { deadline, born } => {
                let entry = parent.scopes.enter(born);
                (
                    parent.token.child_token(),
                    deadline,
                    None,
                    true,
                    Some(entry),
                )
            }
            Child::Value(value) => {
                let token = parent.token.clone();
                (token, None, Some(value), parent.cancellable, None)
            }
        };
        parent.live_children.fetch_add(1, Ordering::Relaxed);
        Node {
            parent: Some(Arc::clone(parent)),
            values_of: None,
            token,
            deadline: earliest(parent.deadline, deadline),
            cancelled: OnceLock::new(),
            cancellable,
            reported: OnceLock::new(),
            value,
            live_children: AtomicUsize::new(0),
            scopes: Arc::clone(&parent.scopes),
            entry,
        }
    }

    /// This node and its ancestors: what can end it.
    fn ancestry(&self) -> impl Iterator<Item = &Node> {
        std::iter::successors(Some(self), |node| node.parent.as_deref())
    }

    /// Where its values are looked up: its ancestry, continued past a detached root into
    /// the context it was detached from.
    fn value_ancestry(&self) -> impl Iterator<Item = &Node> {
        std::iter::successors(Some(self), |node| {
            node.parent.as_deref().or(node.values_of.as_deref())
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(parent) = &self.parent {
            parent.live_children.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(entry) = self.entry {
            self.scopes.leave(entry);
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Ctx {
    /// A root context that never ends by itself: no deadline, and nothing can cancel it.
    /// Derive scopes from it.
    ///
    /// Each call makes a new, independent root, so unrelated requests never contend on one
    /// shared parent.
    pub fn background() -> Ctx {
        Ctx {
            node: Arc::new(Node::root(None)),
        }
    }

    /// Derives a context that keeps this one's values but neither its cancellation nor its
    /// deadline (Go's `context.WithoutCancel`): a new root, for work that must outlive the
    /// request that started it. Bound that work with a deadline of its own.
    ///
    /// The one deliberate way out of a request's tether, and named as such: inside
    /// `#[context_first]` code, `Ctx::background()` is a compile error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tethered_core::Ctx;
    ///
    /// struct RequestId(&'static str);
    ///
    /// let root = Ctx::background();
    /// let request = root.child();
    /// let ctx = request.with_value(RequestId("req-7"));
    ///
    /// // The audit record of what the request did is written even if the client left:
    /// // detached from the request, with the request's id, under a bound of its own.
    /// let audit = ctx.without_cancel();
    /// let audit = audit.with_timeout(Duration::from_secs(5));
    /// request.cancel("client hung up");
    ///
    /// assert!(ctx.is_done());
    /// assert!(audit.check().is_ok());
    /// assert_eq!(audit.value::<RequestId>().map(|id| id.0), Some("req-7"));
    /// ```
    pub fn without_cancel(&self) -> Ctx {
        Ctx {
            node: Arc::new(Node::root(Some(Arc::clone(&self.node)))),
        }
    }

    /// Derives a child that can be cancelled through the returned [`Scope`], and that is
    /// cancelled when the scope is dropped.
    pub fn child(&self) -> Scope {
        self.derive_scope(None, Instant::now())
    }

    /// Derives a child that ends `timeout` from now (tokio's clock), or earlier if this
    /// context does. A timeout too large to represent means "no deadline of its own".
    pub fn with_timeout(&self, timeout: Duration) -> Scope {
        let now = Instant::now();
        self.derive_scope(now.checked_add(timeout), now)
    }

    /// Derives a child that ends at `deadline`, or earlier if this context does. A child's
    /// deadline never extends its parent's.
    pub fn with_deadline(&self, deadline: Instant) -> Scope {
        self.derive_scope(Some(deadline), Instant::now())
    }

    /// A scope made `now`, ending at `deadline`.
    fn derive_scope(&self, deadline: Option<Instant>, now: Instant) -> Scope {
        let child = Child::Scope {
            deadline,
            born: now,
        };
        Scope {
            ctx: Ctx {
                node: Arc::new(Node::derive(&self.node, child)),
            },
        }
    }

    /// Derives a child that carries `value`, visible through [`Ctx::value`] on the child and
    /// its descendants, never on this context or its other children.
    ///
    /// Values are keyed by type. A value is never changed once set; setting the same type
    /// again further down shadows it for that subtree only. The child ends exactly when
    /// this context ends, so it needs no scope.
    pub fn with_value<T: Any + Send + Sync>(&self, value: T) -> Ctx {
        Ctx {
            node: Arc::new(Node::derive(&self.node, Child::Value(Box::new(value)))),
        }
    }

    /// The nearest value of type `T` set on this context or an ancestor.
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.node
            .value_ancestry()
            .find_map(|node| node.value.as_ref()?.downcast_ref::<T>())
    }

    /// `Ok` while the context is live; the cause once it has ended.
    ///
    /// Costs one atomic load per enclosing scope, plus a clock read when there is a
    /// deadline. Arms no timer.
    pub fn check(&self) -> Result<(), Cause> {
        match self.cause() {
            Some(cause) => Err(cause),
            None => Ok(()),
        }
    }

    /// Whether the context has ended (cancelled or past its deadline).
    pub fn is_done(&self) -> bool {
        self.check().is_err()
    }

    /// Why the context ended, or `None` while it is live.
    ///
    /// The first cause wins and is kept: a context whose deadline passed before an
    /// ancestor was cancelled reports [`Cause::DeadlineExceeded`], and keeps reporting it.
    pub fn cause(&self) -> Option<Cause> {
        if let Some(cause) = self.node.reported.get() {
            return Some(cause.clone());
        }
        let mut first: Option<(Instant, &Cause)> = None;
        if let Some(deadline) = self.node.deadline
            && deadline <= Instant::now()
        {
            first = Some((deadline, &Cause::DeadlineExceeded));
        }
        for record in self.node.ancestry().filter_map(|n| n.cancelled.get()) {
            if first.is_none_or(|(at, _)| record.at < at) {
                first = Some((record.at, &record.cause));
            }
        }
        let (_, cause) = first?;
        Some(self.node.reported.get_or_init(|| cause.clone()).clone())
    }

    /// The instant the context ends by itself, if it has a deadline: the earliest of its own
    /// and its ancestors'.
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }

    /// Time left before the deadline (zero once it has passed), or `None` without one.
    pub fn remaining(&self) -> Option<Duration> {
        self.node
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// Completes with the cause once the context has ended.
    ///
    /// Every poll checks the context first ([`Ctx::cause`]), so a future polled often (a
    /// stream of rows, once per row) sees its deadline pass at once, not only when the
    /// runtime's timer fires (a millisecond late at best, and later still on a runtime kept
    /// busy).
    ///
    /// This is cancel safe: dropping it loses nothing. A timer is armed only while it is
    /// awaited and only if the context has a deadline; a context that nothing can end
    /// (a root, or values on one) registers nothing at all.
    pub async fn done(&self) -> Cause {
        let mut woken = std::pin::pin!(self.woken());
        std::future::poll_fn(|cx| match self.cause() {
            Some(cause) => Poll::Ready(cause),
            None => woken.as_mut().poll(cx),
        })
        .await
    }

    /// Completes with the cause once a wake-up (the token's, or the deadline's timer) shows
    /// the context has ended.
    async fn woken(&self) -> Cause {
        loop {
            if let Some(cause) = self.cause() {
                return cause;
            }
            match self.node.deadline {
                Some(deadline) => {
                    tokio::select! {
                        () = self.node.token.cancelled() => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    }
                }
                // Nothing can cancel it: no need to wait for a wake-up that never comes.
                None if !self.node.cancellable => std::future::pending().await,
                None => self.node.token.cancelled().await,
            }
        }
    }

    /// Runs `future` until it completes or the context ends, whichever comes first.
    ///
    /// A context that has already ended does not poll `future` at all. When both are ready
    /// at once the future's output wins: work that finished is not thrown away. When the
    /// context wins, `future` is dropped; cancel safety is then `future`'s own.
    pub async fn run<F: Future>(&self, future: F) -> Result<F::Output, Cause> {
        self.check()?;
        tokio::select! {
            biased;
            output = future => Ok(output),
            cause = self.done() => Err(cause),
        }
    }

    /// How many contexts derived directly from this one are still alive.
    ///
    /// A diagnostic: a long-lived root whose requests have all ended reports 0, because
    /// every derived context unregisters when its last handle is dropped.
    pub fn live_children(&self) -> usize {
        self.node.live_children.load(Ordering::Relaxed)
    }

    /// How many scopes are alive under this context's root (the whole tree, this one
    /// included if it is a scope's), and the oldest one's age. Cheap enough to ask on every
    /// scrape: one lock, and a pass over the live scopes. A detached context
    /// ([`Ctx::without_cancel`]) is a root of its own.
    ///
    /// ```
    /// use tethered_core::Ctx;
    ///
    /// let root = Ctx::background();
    /// let request = root.child();
    /// let held = request.ctx().clone();
    /// drop(request); // ended, but its context is still held
    /// assert_eq!(root.live_scopes().count, 1);
    /// drop(held);
    /// assert_eq!(root.live_scopes().count, 0);
    /// ```
    pub fn live_scopes(&self) -> LiveScopes {
        let now = Instant::now();
        let entries = self.node.scopes.entries();
        let oldest = entries.born.iter().flatten().min();
        LiveScopes {
            count: entries.live,
            oldest_age: oldest.map(|born| now.saturating_duration_since(*born)),
        }
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("deadline", &self.node.deadline)
            .field("cause", &self.cause())
            .finish_non_exhaustive()
    }
}

/// The owner of a derived context: the one handle that can cancel it.
///
/// Dropping the scope cancels the context (with reason [`SCOPE_ENDED`]), so a derived
/// context can never be leaked live. It dereferences to its [`Ctx`], so `&scope` can be
/// passed wherever a `&Ctx` is expected.
#[must_use = "dropping a Scope cancels its context at once"]
pub struct Scope {
    ctx: Ctx,
}

impl Scope {
    /// The context this scope owns.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// Cancels the context and all its descendants with `reason`.
    ///
    /// If the context has already ended, its first cause stays and this only releases
    /// waiters. Cancelling never reaches the parent or siblings.
    pub fn cancel(&self, reason: impl Into<Arc<str>>) {
        self.cancel_with(|| reason.into());
    }

    fn cancel_with(&self, reason: impl FnOnce() -> Arc<str>) {
        let node = &self.ctx.node;
        if self.ctx.cause().is_none() {
            let record = CancelRecord {
                cause: Cause::Canceled { reason: reason() },
                at: Instant::now(),
            };
            // Record before waking: a waiter woken by the token must find the cause.
            let _ = node.cancelled.set(record);
        }
        node.token.cancel();
    }
}

impl std::ops::Deref for Scope {
    type Target = Ctx;

    fn deref(&self) -> &Ctx {
        &self.ctx
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Shared, so that ending a scope allocates nothing.
        static REASON: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(SCOPE_ENDED));
        self.cancel_with(|| Arc::clone(&REASON));
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scope").field(&self.ctx).finish()
    }
}
