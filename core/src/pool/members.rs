//! Who belongs to a pool: its idle connections, newest last, with their age and idle time,
//! and a stop handle for each connection checked out, so that closing the pool can stop
//! statements still running at its deadline.
//!
//! Both live under one lock, taken once at checkout (to pop an idle connection) and once
//! at return (to push it back): registering a checked-out connection costs no extra lock.
//! A connection's stop handle is made once, when it is opened, and moves with it between
//! the two lists.

use tokio::time::Instant;

use crate::driver::{Connection, Driver};
use crate::pool::options::PoolOptions;

/// The stop handle of a driver's connections.
pub(crate) type Canceller<D> = <<D as Driver>::Connection as Connection>::Canceller;

/// An open connection and what the pool knows of it.
pub(crate) struct Member<D: Driver> {
    pub(crate) connection: D::Connection,
    pub(crate) canceller: Canceller<D>,
    /// When it was opened.
    pub(crate) born: Instant,
}

impl<D: Driver> Member<D> {
    pub(crate) fn new(connection: D::Connection) -> Member<D> {
        Member {
            canceller: connection.canceller(),
            connection,
            born: Instant::now(),
        }
    }

    /// Whether a connection opened at `born` has lived past the pool's `max_lifetime`.
    pub(crate) fn past_lifetime(options: &PoolOptions, born: Instant, now: Instant) -> bool {
        options
            .max_lifetime
            .is_some_and(|limit| now.saturating_duration_since(born) >= limit)
    }
}

/// A connection nobody is using.
pub(crate) struct Idle<D: Driver> {
    pub(crate) member: Member<D>,
    /// When it was returned.
    since: Instant,
    /// Pinged before it is handed out, however briefly it idled: another connection of the
    /// pool was found dead, and this one may have died with it.
    suspect: bool,
}

/// What checkout makes of an idle connection.
pub(crate) enum Verdict {
    /// Hand it out as it is.
    Ready,
    /// Ping it first.
    Ping,
    /// Close it: it is closed, too old or idled too long.
    Close,
}

impl<D: Driver> Idle<D> {
    pub(crate) fn verdict(&self, options: &PoolOptions, now: Instant) -> Verdict {
        let idled = now.saturating_duration_since(self.since);
        if self.member.connection.is_closed()
            || Member::<D>::past_lifetime(options, self.member.born, now)
            || options.idle_timeout.is_some_and(|limit| idled >= limit)
        {
            Verdict::Close
        } else if self.suspect || options.ping_after_idle.is_some_and(|after| idled >= after) {
            Verdict::Ping
        } else {
            Verdict::Ready
        }
    }
}

/// The idle connections and the stop handles of the checked-out ones.
pub(crate) struct Members<D: Driver> {
    /// Newest last: the warmest is reused first.
    idle: Vec<Idle<D>>,
    /// Stop handles of checked-out connections, by slot.
    out: Vec<Option<Canceller<D>>>,
    /// Free slots of `out`.
    free: Vec<usize>,
}

impl<D: Driver> Members<D> {
    pub(crate) fn new() -> Members<D> {
        Members {
            idle: Vec::new(),
            out: Vec::new(),
            free: Vec::new(),
        }
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle.len()
    }

    /// Takes the newest idle connection that may be handed out, registering its stop
    /// handle: the connection, its birth, its slot, and whether it must be pinged first.
    /// Those found closed, too old or idle too long are taken out too, into `closing`, to
    /// be dropped once the lock is released.
    pub(crate) fn check_out_idle(
        &mut self,
        options: &PoolOptions,
        now: Instant,
        closing: &mut Vec<Member<D>>,
    ) -> Option<(D::Connection, Instant, usize, bool)> {
        loop {
            let idle = self.idle.pop()?;
            let ping = match idle.verdict(options, now) {
                Verdict::Close => {
                    closing.push(idle.member);
                    continue;
                }
                Verdict::Ping => true,
                Verdict::Ready => false,
            };
            let Member {
                connection,
                canceller,
                born,
            } = idle.member;
            return Some((connection, born, self.register(canceller), ping));
        }
    }

    /// Registers a checked-out connection's stop handle; gives its slot.
    pub(crate) fn register(&mut self, canceller: Canceller<D>) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.out[slot] = Some(canceller);
                slot
            }
            None => {
                self.out.push(Some(canceller));
                self.out.len() - 1
            }
        }
    }

    /// Forgets a checked-out connection's slot; gives back its stop handle.
    pub(crate) fn unregister(&mut self, slot: usize) -> Option<Canceller<D>> {
        let canceller = self.out.get_mut(slot)?.take();
        self.free.push(slot);
        canceller
    }

    /// Puts a returned connection back, newest.
    pub(crate) fn return_idle(
        &mut self,
        slot: usize,
        connection: D::Connection,
        born: Instant,
        now: Instant,
    ) {
        let Some(canceller) = self.unregister(slot) else {
            return;
        };
        self.idle.push(Idle {
            member: Member {
                connection,
                canceller,
                born,
            },
            since: now,
            suspect: false,
        });
    }

    /// Marks every idle connection to be pinged before it is next handed out.
    pub(crate) fn suspect_all(&mut self) {
        for idle in &mut self.idle {
            idle.suspect = true;
        }
    }

    /// Takes out every idle connection that must be closed now.
    pub(crate) fn expired(&mut self, options: &PoolOptions, now: Instant) -> Vec<Idle<D>> {
        let (closing, keeping) = std::mem::take(&mut self.idle)
            .into_iter()
            .partition(|idle| matches!(idle.verdict(options, now), Verdict::Close));
        self.idle = keeping;
        closing
    }

    /// Takes out every idle connection.
    pub(crate) fn drain_idle(&mut self) -> Vec<Idle<D>> {
        std::mem::take(&mut self.idle)
    }

    /// The stop handles of every checked-out connection.
    pub(crate) fn checked_out(&self) -> impl Iterator<Item = &Canceller<D>> {
        self.out.iter().flatten()
    }
}
