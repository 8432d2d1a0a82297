//! How long the server itself should let a statement run, so a client that crashes or is
//! partitioned away cannot leave a runaway statement behind.
//!
//! The client's own cancel normally wins; the server's limit is the backstop, so it is
//! never shorter than the time left (a statement must not be stopped before its context
//! ends) and it is rounded up to a power of two milliseconds. Few distinct values means a
//! session setting rarely needs changing (PostgreSQL) and statement texts that carry the
//! limit stay few (MariaDB's prepared-statement cache).

use std::time::Duration;

/// Added to the time left, so the client's cancel (which confirms the stop and keeps the
/// connection) normally reaches the server before the server's own timer fires.
const MARGIN: Duration = Duration::from_millis(20);

/// A limit set earlier may be kept while it is at most this much over twice the time left.
const SLACK: Duration = Duration::from_secs(1);

/// The limit to give the server for a statement with `remaining` time, at most `max`.
pub fn limit_for(remaining: Duration, max: Duration) -> Duration {
    let at_least = remaining.saturating_add(MARGIN).min(max);
    let millis = u64::try_from(at_least.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis.max(1).next_power_of_two()).min(max)
}

/// Whether a limit `current` already in force still suits a statement with `remaining`
/// time: never shorter than [`limit_for`] would set, never much longer.
pub fn still_fits(current: Duration, remaining: Duration, max: Duration) -> bool {
    let at_least = remaining.saturating_add(MARGIN).min(max);
    let at_most = remaining.saturating_mul(2).saturating_add(SLACK);
    at_least <= current && current <= at_most.max(at_least)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_millis(i32::MAX as u64);

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn the_limit_is_never_below_the_time_left_plus_margin_and_rounds_up() {
        assert_eq!(limit_for(ms(100), MAX), ms(128));
        assert_eq!(limit_for(ms(2000), MAX), ms(2048));
        assert_eq!(limit_for(ms(0), MAX), ms(32));
        for remaining in (0..5000).step_by(7).map(ms) {
            let limit = limit_for(remaining, MAX);
            assert!(limit >= remaining + MARGIN, "{remaining:?} -> {limit:?}");
            assert!(
                still_fits(limit, remaining, MAX),
                "{remaining:?} -> {limit:?}"
            );
        }
    }

    #[test]
    fn a_limit_is_kept_while_the_time_left_shrinks_within_bounds() {
        let limit = limit_for(ms(2000), MAX);
        assert!(still_fits(limit, ms(1500), MAX));
        assert!(still_fits(limit, ms(600), MAX));
        assert!(!still_fits(limit, ms(400), MAX), "too loose");
        assert!(!still_fits(limit, ms(2100), MAX), "too short");
    }

    #[test]
    fn years_of_time_left_clamp_to_the_servers_maximum() {
        let years = Duration::from_secs(10 * 365 * 24 * 3600);
        assert_eq!(limit_for(years, MAX), MAX);
        assert!(still_fits(MAX, years, MAX));
        assert_eq!(limit_for(Duration::MAX, MAX), MAX);
    }
}
