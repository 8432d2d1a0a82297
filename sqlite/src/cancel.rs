//! Stopping a connection's statement: SQLite's interrupt, gated by an operation id so that
//! it can never reach a later statement, and the progress handler that ends a statement at
//! its context's deadline from inside the engine.
//!
//! Every statement a connection runs is an operation with an id of its own, given on the
//! async side as it is sent (`submitted`), and marked running on the connection's thread
//! (`running`) only while the engine works on it. A stop request names the operation it is
//! for (`requested`), and [`rusqlite::InterruptHandle::interrupt`] is called only under the
//! gate's lock while that operation is the one running; the thread marks the operation's
//! end under the same lock. SQLite clears its interrupt flag when the next statement is
//! prepared or first stepped with no other statement active (which is always so between two
//! operations here), so an interrupt that arrives as an operation ends dies with it. The
//! progress handler (every [`PROGRESS_OPS`] virtual machine instructions) and the busy
//! handler stop the statement when `requested` names the running operation, which also
//! covers an interrupt SQLite cleared at the statement's own start.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tethered_core::{Canceller, Result};

/// How many virtual machine instructions run between two calls of the progress handler:
/// a few microseconds of work.
pub(crate) const PROGRESS_OPS: i32 = 1_000;

/// "No limit", for the limits kept as nanoseconds since the gate's epoch.
const NONE: u64 = u64::MAX;

/// What the connection's thread and its cancellers share.
pub(crate) struct Gate {
    epoch: Instant,
    running: Mutex<Running>,
    /// The running operation, 0 when none: read by the progress handler without the lock.
    current: AtomicU64,
    /// The last operation sent to the thread.
    submitted: AtomicU64,
    /// The last operation the thread finished.
    finished: AtomicU64,
    /// The operation a stop was asked for.
    requested: AtomicU64,
    /// When the running operation's context ends (plus a margin), in nanoseconds since
    /// `epoch`: the engine's own limit.
    limit: AtomicU64,
    /// When the running operation stops waiting for a lock.
    busy_until: AtomicU64,
    /// Set when the engine's own limit ended the running operation.
    timed_out: AtomicBool,
    /// Set when the connection is dropped: whatever runs is stopped, and nothing more runs.
    closing: AtomicBool,
    /// How many times `interrupt()` was called, for tests.
    interrupts: AtomicU64,
}

struct Running {
    op: u64,
    handle: Option<rusqlite::InterruptHandle>,
}

impl Gate {
    pub(crate) fn new() -> Gate {
        Gate {
            epoch: Instant::now(),
            running: Mutex::new(Running {
                op: 0,
                handle: None,
            }),
            current: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            requested: AtomicU64::new(0),
            limit: AtomicU64::new(NONE),
            busy_until: AtomicU64::new(NONE),
            timed_out: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            interrupts: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(NONE - 1)
    }

    /// The interrupt handle of the connection, once it is open.
    pub(crate) fn set_handle(&self, handle: rusqlite::InterruptHandle) {
        self.lock().handle = Some(handle);
    }

    /// Records that operation `op` was sent to the thread.
    pub(crate) fn submit(&self, op: u64) {
        self.submitted.store(op, Ordering::SeqCst);
    }

    /// Marks `op` running, with its limits. `false` if a stop for it arrived while it was
    /// queued (or the connection is closing): it must not run.
    pub(crate) fn begin(&self, op: u64, limit: Option<Instant>, busy_until: Instant) -> bool {
        let mut running = self.lock();
        self.timed_out.store(false, Ordering::SeqCst);
        self.limit
            .store(limit.map_or(NONE, |at| self.nanos(at)), Ordering::SeqCst);
        let busy_until = limit.map_or(busy_until, |limit| limit.min(busy_until));
        self.busy_until
            .store(self.nanos(busy_until), Ordering::SeqCst);
        if self.requested.load(Ordering::SeqCst) == op || self.closing.load(Ordering::SeqCst) {
            return false;
        }
        running.op = op;
        self.current.store(op, Ordering::SeqCst);
        true
    }

    /// Marks operation `op` ended (run or refused): from here on no interrupt is sent for
    /// it.
    pub(crate) fn end(&self, op: u64) {
        let mut running = self.lock();
        running.op = 0;
        self.finished.store(op, Ordering::SeqCst);
        self.current.store(0, Ordering::SeqCst);
        self.limit.store(NONE, Ordering::SeqCst);
        self.busy_until.store(NONE, Ordering::SeqCst);
    }

    /// Whether a stop was asked for operation `op`.
    pub(crate) fn stop_requested(&self, op: u64) -> bool {
        self.requested.load(Ordering::SeqCst) == op || self.closing.load(Ordering::SeqCst)
    }

    /// Whether the engine's own limit ended the running operation.
    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::SeqCst)
    }

    /// The progress handler's question: stop the running statement now? Yes when a stop
    /// was asked for it, or its context's deadline (plus margin) has passed.
    pub(crate) fn should_stop(&self) -> bool {
        let current = self.current.load(Ordering::SeqCst);
        if self.closing.load(Ordering::SeqCst)
            || (current != 0 && self.requested.load(Ordering::SeqCst) == current)
        {
            return true;
        }
        let limit = self.limit.load(Ordering::SeqCst);
        if limit != NONE && self.nanos(Instant::now()) >= limit {
            self.timed_out.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }

    /// The busy handler's question, after `count` earlier calls for this lock: wait some
    /// more (it sleeps here first) or give up?
    pub(crate) fn keep_waiting(&self, count: i32) -> bool {
        if self.should_stop() {
            return false;
        }
        let until = self.busy_until.load(Ordering::SeqCst);
        let now = self.nanos(Instant::now());
        if until != NONE && now >= until {
            if self.limit.load(Ordering::SeqCst) <= until {
                self.timed_out.store(true, Ordering::SeqCst);
            }
            return false;
        }
        // 1, 2, 4 ms, then every 5 ms: a lock released is taken soon, a stop seen soon.
        let pause = Duration::from_millis(match count {
            0 => 1,
            1 => 2,
            2 => 4,
            _ => 5,
        });
        let left = Duration::from_nanos(until.saturating_sub(now));
        std::thread::sleep(pause.min(left));
        true
    }

    /// Sleeps `total` on the connection's thread, in slices, unless the running statement
    /// is to stop first; `false` if it was.
    pub(crate) fn sleep(&self, total: Duration) -> bool {
        let end = Instant::now() + total;
        loop {
            if self.should_stop() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(1)));
        }
    }

    /// Stops whatever runs and refuses what comes: the connection is being dropped.
    pub(crate) fn close(&self) {
        let running = self.lock();
        self.closing.store(true, Ordering::SeqCst);
        if running.op != 0
            && let Some(handle) = &running.handle
        {
            handle.interrupt();
        }
    }

    /// Asks to stop operation `target`, or, when `target` is still [`UNCHOSEN`], the
    /// operation running or queued now (and sets `target` to it, or to [`NOTHING`] when the
    /// connection is idle). The interrupt goes to SQLite only while that operation runs.
    fn stop(&self, target: &AtomicU64) {
        let running = self.lock();
        let mut op = target.load(Ordering::SeqCst);
        if op == UNCHOSEN {
            let submitted = self.submitted.load(Ordering::SeqCst);
            op = if running.op != 0 {
                running.op
            } else if submitted > self.finished.load(Ordering::SeqCst) {
                submitted
            } else {
                NOTHING
            };
            target.store(op, Ordering::SeqCst);
        }
        if op == NOTHING {
            return;
        }
        self.requested.fetch_max(op, Ordering::SeqCst);
        if running.op == op
            && let Some(handle) = &running.handle
        {
            self.interrupts.fetch_add(1, Ordering::Relaxed);
            handle.interrupt();
        }
    }
}

/// A canceller's target before its first request.
const UNCHOSEN: u64 = 0;

/// A canceller's target when its first request found nothing running or queued.
const NOTHING: u64 = u64::MAX;

/// Stops the statement a [`SqliteConnection`](crate::SqliteConnection) runs: it asks SQLite
/// to interrupt it (`sqlite3_interrupt`), gated by operation id.
///
/// A canceller targets one statement: the one running (or queued) when its first request
/// is made. Every later request is for that statement too, and does nothing once it has
/// ended: a stop can never reach the next statement, however late it arrives. A first
/// request that finds the connection idle targets nothing. A clone made before the first
/// request chooses its own target (the pool keeps one such canceller per connection and
/// clones it to stop whatever runs when it closes).
pub struct SqliteCanceller {
    gate: Arc<Gate>,
    target: AtomicU64,
}

impl Clone for SqliteCanceller {
    fn clone(&self) -> SqliteCanceller {
        SqliteCanceller {
            gate: Arc::clone(&self.gate),
            target: AtomicU64::new(self.target.load(Ordering::SeqCst)),
        }
    }
}

impl SqliteCanceller {
    pub(crate) fn new(gate: Arc<Gate>) -> SqliteCanceller {
        SqliteCanceller {
            gate,
            target: AtomicU64::new(UNCHOSEN),
        }
    }

    /// How many interrupts were sent to SQLite on this canceller's connection so far.
    pub fn interrupts_sent(&self) -> u64 {
        self.gate.interrupts.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for SqliteCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteCanceller")
            .field("target", &self.target.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Canceller for SqliteCanceller {
    /// Interrupts the targeted statement if it runs, or marks it so that it never starts if
    /// it is still queued; a no-op once it has ended.
    ///
    /// Cancel safe: it has done everything before its future is first polled (the request
    /// is a flag and a call to `sqlite3_interrupt`, never a wait), so nothing of it is ever
    /// still on its way.
    fn cancel(&self) -> impl Future<Output = Result<()>> + Send {
        self.gate.stop(&self.target);
        std::future::ready(Ok(()))
    }
}
