//! What a pool is told: its size, how long its operations may take, and how long its
//! connections may live and idle. The defaults are chosen for a service.

use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// How large a pool is, how long its operations may take, and when it replaces its
/// connections. Write `PoolOptions { max_connections: 4, ..PoolOptions::default() }`, so
/// fields added later keep their defaults.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The most connections open at once (default 10). At least 1.
    pub max_connections: usize,
    /// How many idle connections the pool's maintenance keeps open, opening new ones in
    /// the background when fewer are (default 0: connections are opened on demand). At
    /// most `max_connections`.
    pub min_idle: usize,
    /// The longest [`Pool::acquire`](crate::Pool::acquire) waits for a free connection
    /// while its context is still live (default 30 s); past it,
    /// [`Error::PoolTimedOut`].
    pub acquire_timeout: Duration,
    /// A connection idle for longer is closed, by the pool's maintenance or at checkout,
    /// whichever comes first (default 10 minutes; `None`: never for idling). Keep it under
    /// the server's own idle limit (MariaDB's `wait_timeout`, 8 hours by default) and any
    /// proxy's or firewall's, so the pool closes an idle connection before they drop it.
    pub idle_timeout: Option<Duration>,
    /// A connection older than this is closed when it is next returned or found idle
    /// (default 30 minutes; `None`: connections live as long as they work), so that
    /// server-side memory, a changed DNS answer or a failed-over primary are picked up.
    pub max_lifetime: Option<Duration>,
    /// A connection idle for longer than this is pinged (one round trip) before it is
    /// handed out, and replaced if the ping fails (default 1 s; `None`: never pinged).
    /// A connection reused within this time is handed out as it is: a busy service pays
    /// nothing, and a connection the server dropped while the pool was quiet is found out
    /// before a statement is sent on it.
    pub ping_after_idle: Option<Duration>,
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
    /// A statement whose caller waited this long or longer is logged at `WARN` (an event
    /// in its span, target [`STATEMENT_TARGET`](crate::STATEMENT_TARGET)); every statement
    /// has its `DEBUG` span whatever this is (default 1 s; `None`: never).
    pub slow_statement_after: Option<Duration>,
}

impl Default for PoolOptions {
    fn default() -> PoolOptions {
        PoolOptions {
            max_connections: 10,
            min_idle: 0,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            ping_after_idle: Some(Duration::from_secs(1)),
            cancel_grace: Duration::from_secs(3),
            stop_wait: Duration::from_millis(10),
            slow_statement_after: Some(Duration::from_secs(1)),
        }
    }
}

const MAX_CANCEL_GRACE: Duration = Duration::from_secs(3600);

/// The shortest pause between two rounds of maintenance, however short the limits.
const MAINTENANCE_AT_MOST_EVERY: Duration = Duration::from_millis(100);

/// The longest pause between two rounds of maintenance.
const MAINTENANCE_AT_LEAST_EVERY: Duration = Duration::from_secs(30);

impl PoolOptions {
    /// Refuses options that cannot work.
    pub(crate) fn check(&self) -> Result<()> {
        if self.max_connections == 0 || self.max_connections > Semaphore::MAX_PERMITS {
            return Err(Error::InvalidInput(format!(
                "a pool needs between 1 and {} connections, not {}",
                Semaphore::MAX_PERMITS,
                self.max_connections
            )));
        }
        if self.min_idle > self.max_connections {
            return Err(Error::InvalidInput(format!(
                "min_idle ({}) is over max_connections ({})",
                self.min_idle, self.max_connections
            )));
        }
        if self.cancel_grace > MAX_CANCEL_GRACE {
            return Err(Error::InvalidInput(format!(
                "cancel_grace of {:?} is over the limit of {MAX_CANCEL_GRACE:?}",
                self.cancel_grace
            )));
        }
        Ok(())
    }

    /// How often the maintenance runs, if it has anything to do: a quarter of the shortest
    /// limit, so a connection outlives its limit by at most that much, within bounds.
    pub(crate) fn maintenance_interval(&self) -> Option<Duration> {
        let shortest = [self.idle_timeout, self.max_lifetime]
            .into_iter()
            .flatten()
            .min();
        let shortest = match shortest {
            Some(limit) => limit,
            None if self.min_idle > 0 => MAINTENANCE_AT_LEAST_EVERY,
            None => return None,
        };
        Some((shortest / 4).clamp(MAINTENANCE_AT_MOST_EVERY, MAINTENANCE_AT_LEAST_EVERY))
    }
}
