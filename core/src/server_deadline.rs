//! How long the server itself should let a statement run, so a client that crashes or is
//! partitioned away cannot leave a runaway statement behind.
//!
//! The client's own cancel normally wins; the server's limit is the backstop, so it is
//! never shorter than the time left (a statement must not be stopped before its context
//! ends) and it is rounded up to a power of two milliseconds. Few distinct values means a
//! session setting rarely needs changing (PostgreSQL) and statement texts that carry the
//! limit stay few (MariaDB's prepared-statement cache).

use std::time::Duration;

use crate::error::{Error, Result};

/// A limit set earlier may be kept while it is at most this much over twice the time left.
const SLACK: Duration = Duration::from_secs(1);

/// The limit to give the server for a statement with `remaining` time, at most `max`.
///
/// `margin` is added to the time left, so that the client's own stop (which confirms the
/// stop and keeps the connection) normally ends the statement before the server's timer
/// fires: each backend says how much its server needs.
pub fn limit_for(remaining: Duration, margin: Duration, max: Duration) -> Duration {
    let at_least = remaining.saturating_add(margin).min(max);
    let millis = u64::try_from(at_least.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis.max(1).next_power_of_two()).min(max)
}

/// Whether a limit `current` already in force still suits a statement with `remaining`
/// time: never shorter than [`limit_for`] would set, never much longer.
pub fn still_fits(current: Duration, remaining: Duration, margin: Duration, max: Duration) -> bool {
    let at_least = remaining.saturating_add(margin).min(max);
    let at_most = remaining.saturating_mul(2).saturating_add(SLACK);
    at_least <= current && current <= at_most.max(at_least)
}

/// Refuses a statement that changes `variable`, the session setting a backend derives from
/// each context's deadline (PostgreSQL's `statement_timeout`, MariaDB's
/// `max_statement_time`): tethered would silently override it, or revert it, at the next
/// statement. A limit belongs on the context (`ctx.with_timeout`), where every backend
/// and the client's own cancel honour it.
///
/// Matched on the text, case-insensitively: a `SET`/`RESET` (or `set_config`) naming the
/// variable. Cheap for statements that do not name it: one scan for its name.
pub fn refuse_managed_setting(sql: &str, variable: &str) -> Result<()> {
    if !contains_ignoring_case(sql, variable) {
        return Ok(());
    }
    let head = sql.trim_start();
    let starts_with = |word: &str| {
        head.get(..word.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(word))
    };
    if starts_with("set") || starts_with("reset") || contains_ignoring_case(sql, "set_config") {
        return Err(Error::InvalidInput(format!(
            "tethered sets `{variable}` itself, from each statement's context: give the \
             context a deadline (`ctx.with_timeout(...)`) instead of setting it"
        )));
    }
    Ok(())
}

fn contains_ignoring_case(text: &str, word: &str) -> bool {
    text.as_bytes()
        .windows(word.len())
        .any(|window| window.eq_ignore_ascii_case(word.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_changing_the_managed_setting_are_refused_and_others_pass() {
        for sql in [
            "SET statement_timeout = 7000",
            "  set SESSION Statement_Timeout TO '5s'",
            "RESET statement_timeout",
            "SELECT set_config('statement_timeout', '100', false)",
        ] {
            assert!(
                refuse_managed_setting(sql, "statement_timeout").is_err(),
                "{sql:?}"
            );
        }
        for sql in [
            "SELECT 1",
            "SET search_path = public",
            "SHOW statement_timeout",
            "SELECT current_setting('statement_timeout')",
        ] {
            assert!(
                refuse_managed_setting(sql, "statement_timeout").is_ok(),
                "{sql:?}"
            );
        }
    }

    const MAX: Duration = Duration::from_millis(i32::MAX as u64);
    const MARGIN: Duration = Duration::from_millis(20);

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn the_limit_is_never_below_the_time_left_plus_margin_and_rounds_up() {
        assert_eq!(limit_for(ms(100), MARGIN, MAX), ms(128));
        assert_eq!(limit_for(ms(2000), MARGIN, MAX), ms(2048));
        assert_eq!(limit_for(ms(0), MARGIN, MAX), ms(32));
        for remaining in (0..5000).step_by(7).map(ms) {
            let limit = limit_for(remaining, MARGIN, MAX);
            assert!(limit >= remaining + MARGIN, "{remaining:?} -> {limit:?}");
            assert!(
                still_fits(limit, remaining, MARGIN, MAX),
                "{remaining:?} -> {limit:?}"
            );
        }
    }

    #[test]
    fn a_limit_is_kept_while_the_time_left_shrinks_within_bounds() {
        let limit = limit_for(ms(2000), MARGIN, MAX);
        assert!(still_fits(limit, ms(1500), MARGIN, MAX));
        assert!(still_fits(limit, ms(600), MARGIN, MAX));
        assert!(!still_fits(limit, ms(400), MARGIN, MAX), "too loose");
        assert!(!still_fits(limit, ms(2100), MARGIN, MAX), "too short");
    }

    #[test]
    fn years_of_time_left_clamp_to_the_servers_maximum() {
        let years = Duration::from_secs(10 * 365 * 24 * 3600);
        assert_eq!(limit_for(years, MARGIN, MAX), MAX);
        assert!(still_fits(MAX, years, MARGIN, MAX));
        assert_eq!(limit_for(Duration::MAX, MARGIN, MAX), MAX);
    }
}
