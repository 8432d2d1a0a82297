//! The precision every supported server keeps for times, checked once for every backend.

use std::fmt::Display;

/// `Ok` when a time whose sub-second part is `nanoseconds` is kept whole by a server that
/// keeps microseconds (PostgreSQL, MySQL/MariaDB); otherwise the message refusing it, for
/// the backend's error: rounding it would store another time.
pub fn whole_microseconds(
    nanoseconds: u32,
    value: &dyn Display,
    server: &str,
) -> Result<(), String> {
    if nanoseconds.is_multiple_of(1_000) {
        return Ok(());
    }
    Err(format!(
        "cannot bind {value}: it has nanoseconds, and {server} keeps microseconds; round it first"
    ))
}
