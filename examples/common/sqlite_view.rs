//! SQLite's stand-in for a server's activity view. SQLite has none, so every connection the
//! suite and the examples' SQLite pools (`backend.rs`) open registers functions over one
//! process-wide registry: a long statement calls `tethered_tick(marker)` once per row (a
//! busy count) or `tethered_nap(marker)` (a tick and a millisecond's sleep: a sleep the
//! engine can stop between rows), and a marker is "running" while its counter moves.
//! Stopped means the counter no longer moves.
//!
//! - `tethered_running(pattern)`: how many markers matching the `LIKE`-style `%marker%`
//!   pattern ticked within [`STILL`];
//! - `tethered_running_sessions(pattern)`: their sessions, comma-separated;
//! - `tethered_describe(pattern)`: session, ticks and age of the last tick, or NULL;
//! - `tethered_quiet_micros(pattern)`: microseconds since a marker matching the pattern
//!   last ticked, or NULL if none ever did: when the engine last ran a stopped statement;
//! - `tethered_session()`: the connection's own id, given at open;
//! - `tethered_session_exists(session)`: 1 while that connection is open, else 0;
//! - `tethered_stop(session)`: interrupts that session's statement (`sqlite3_interrupt`
//!   from outside tethered, like `KILL QUERY`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

// rusqlite itself, not tethered's re-export: the benchmark's sqlx-sqlite child, which cannot
// link tethered's SQLite, registers these functions on sqlx's connections too.
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, InterruptHandle};

/// How recently a marker must have ticked to count as running.
pub const STILL: Duration = Duration::from_millis(25);

struct Mark {
    ticks: u64,
    last: Instant,
}

#[derive(Default)]
struct Registry {
    /// By marker and session: two connections running one marker are two statements.
    marks: HashMap<(String, u64), Mark>,
    /// The open sessions.
    sessions: HashMap<u64, InterruptHandle>,
}

/// Owned by a function of the connection, so dropped when SQLite closes it: the session
/// leaves the registry.
struct Open(u64);

impl Drop for Open {
    fn drop(&mut self) {
        registry().sessions.remove(&self.0);
    }
}

fn registry() -> MutexGuard<'static, Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn tick(marker: String, session: u64) {
    let mut registry = registry();
    let mark = registry.marks.entry((marker, session)).or_insert(Mark {
        ticks: 0,
        last: Instant::now(),
    });
    mark.ticks += 1;
    mark.last = Instant::now();
}

/// The markers matching `pattern` (`%marker%`) that ticked within [`STILL`]: each one's
/// marker, session, ticks and the age of its last tick.
pub fn running(pattern: &str) -> Vec<(String, u64, u64, Duration)> {
    let needle = pattern.trim_matches('%');
    registry()
        .marks
        .iter()
        .filter(|((marker, _), mark)| marker.contains(needle) && mark.last.elapsed() < STILL)
        .map(|((marker, session), mark)| {
            (marker.clone(), *session, mark.ticks, mark.last.elapsed())
        })
        .collect()
}

/// How long ago a marker matching `pattern` (`%marker%`) last ticked, or `None` if none
/// ever did: when the engine last ran a stopped statement.
pub fn quiet_for(pattern: &str) -> Option<Duration> {
    let needle = pattern.trim_matches('%');
    registry()
        .marks
        .iter()
        .filter(|((marker, _), _)| marker.contains(needle))
        .map(|(_, mark)| mark.last.elapsed())
        .min()
}

/// Registers the view's functions on a new connection (the driver's `on_open`).
pub fn install(conn: &Connection) -> rusqlite::Result<()> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let session = NEXT.fetch_add(1, Ordering::Relaxed);
    registry()
        .sessions
        .insert(session, conn.get_interrupt_handle());
    let flags = FunctionFlags::SQLITE_UTF8;
    conn.create_scalar_function("tethered_tick", 1, flags, move |call| {
        tick(call.get(0)?, session);
        Ok(1_i64)
    })?;
    conn.create_scalar_function("tethered_nap", 1, flags, move |call| {
        tick(call.get(0)?, session);
        std::thread::sleep(Duration::from_millis(1));
        Ok(1_i64)
    })?;
    let open = Open(session);
    conn.create_scalar_function("tethered_session", 0, flags, move |_| {
        // The whole guard, not just its field, lives in the closure.
        let open: &Open = &open;
        Ok(i64::try_from(open.0).unwrap_or(i64::MAX))
    })?;
    conn.create_scalar_function("tethered_session_exists", 1, flags, |call| {
        let session: i64 = call.get(0)?;
        let open =
            u64::try_from(session).is_ok_and(|session| registry().sessions.contains_key(&session));
        Ok(i64::from(open))
    })?;
    conn.create_scalar_function("tethered_running", 1, flags, |call| {
        let pattern: String = call.get(0)?;
        Ok(i64::try_from(running(&pattern).len()).unwrap_or(i64::MAX))
    })?;
    conn.create_scalar_function("tethered_running_sessions", 1, flags, |call| {
        let pattern: String = call.get(0)?;
        let sessions: Vec<String> = running(&pattern)
            .into_iter()
            .map(|(_, session, _, _)| session.to_string())
            .collect();
        Ok(sessions.join(","))
    })?;
    conn.create_scalar_function("tethered_describe", 1, flags, |call| {
        let pattern: String = call.get(0)?;
        let seen: Vec<String> = running(&pattern)
            .into_iter()
            .map(|(marker, session, ticks, age)| {
                format!("{marker}: session {session}, {ticks} ticks, last {age:?} ago")
            })
            .collect();
        Ok((!seen.is_empty()).then(|| seen.join("; ")))
    })?;
    conn.create_scalar_function("tethered_quiet_micros", 1, flags, |call| {
        let pattern: String = call.get(0)?;
        let quiet = quiet_for(&pattern);
        Ok(quiet.map(|quiet| i64::try_from(quiet.as_micros()).unwrap_or(i64::MAX)))
    })?;
    conn.create_scalar_function("tethered_stop", 1, flags, |call| {
        let session: i64 = call.get(0)?;
        let registry = registry();
        let handle = u64::try_from(session)
            .ok()
            .and_then(|session| registry.sessions.get(&session));
        if let Some(handle) = handle {
            handle.interrupt();
        }
        Ok(i64::from(handle.is_some()))
    })?;
    Ok(())
}
