//! Deadlines on the wire: `grpc-timeout` and `X-Request-Timeout`, read from incoming
//! requests and written into outgoing ones.
//!
//! Both carry a *timeout* (time left), not an instant: the clocks of two machines never
//! agree, but their sense of elapsed time does.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Ctx;

/// `grpc-timeout`: gRPC's wire format, at most 8 digits and a unit (`H`, `M`, `S`, `m`,
/// `u`, `n`: hours down to nanoseconds), as in `300m`.
pub const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// `X-Request-Timeout`: the time left in whole milliseconds, as in `300`.
pub const X_REQUEST_TIMEOUT: HeaderName = HeaderName::from_static("x-request-timeout");

/// The most digits gRPC allows in a timeout.
const GRPC_MAX_AMOUNT: u64 = 99_999_999;

/// The smallest timeout any of the request's deadline headers asks for, ignoring values
/// that are malformed: every budget a client states is honoured, and none is invented.
pub(crate) fn requested_timeout(headers: &HeaderMap) -> Option<Duration> {
    let grpc = headers
        .get_all(GRPC_TIMEOUT)
        .iter()
        .filter_map(|value| parse_grpc_timeout(value.as_bytes()));
    let millis = headers
        .get_all(X_REQUEST_TIMEOUT)
        .iter()
        .filter_map(|value| parse_millis(value.as_bytes()));
    grpc.chain(millis).min()
}

/// Writes what is left of `ctx`'s deadline into `headers`, as `grpc-timeout` and
/// `X-Request-Timeout`, so the service called next ends its work when this one would stop
/// waiting for it. A context without a deadline removes both headers instead, so a header
/// map copied from an incoming request never carries a stale budget on.
///
/// Call it right before sending: the time left is measured now. It is rounded down (to
/// the nanosecond for short budgets, to whole milliseconds for the millisecond header),
/// so the next service never gets more time than this one has.
///
/// ```
/// use std::time::Duration;
/// use tethered::Ctx;
/// use tethered::axum::{GRPC_TIMEOUT, X_REQUEST_TIMEOUT, propagate_deadline};
///
/// let request = Ctx::background().with_timeout(Duration::from_secs(2));
/// let mut outgoing = http::HeaderMap::new();
/// propagate_deadline(&request, &mut outgoing);
/// let millis: u64 = outgoing[X_REQUEST_TIMEOUT].to_str().unwrap().parse().unwrap();
/// assert!(millis <= 2000);
/// assert!(outgoing.contains_key(GRPC_TIMEOUT));
/// ```
pub fn propagate_deadline(ctx: &Ctx, headers: &mut HeaderMap) {
    let Some(remaining) = ctx.remaining() else {
        headers.remove(GRPC_TIMEOUT);
        headers.remove(X_REQUEST_TIMEOUT);
        return;
    };
    if let Ok(value) = HeaderValue::try_from(format_grpc_timeout(remaining)) {
        headers.insert(GRPC_TIMEOUT, value);
    }
    let millis = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
    headers.insert(X_REQUEST_TIMEOUT, HeaderValue::from(millis));
}

/// A `grpc-timeout` value: 1 to 8 ASCII digits, then a unit. Anything else is `None`.
fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.len() > 8 {
        return None;
    }
    // At most 8 digits: the amount fits, and so does the amount in any unit.
    let amount = parse_digits(digits)?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The `grpc-timeout` value for `timeout`: the finest unit whose amount fits in 8 digits,
/// rounded down. A timeout beyond 99,999,999 hours is written as that.
fn format_grpc_timeout(timeout: Duration) -> String {
    const UNITS: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60 * 1_000_000_000, 'M'),
        (3600 * 1_000_000_000, 'H'),
    ];
    let nanos = timeout.as_nanos();
    UNITS
        .iter()
        .map(|&(nanos_per_unit, unit)| (nanos / nanos_per_unit, unit))
        .find(|&(amount, _)| amount <= u128::from(GRPC_MAX_AMOUNT))
        .map_or_else(
            || format!("{GRPC_MAX_AMOUNT}H"),
            |(amount, unit)| format!("{amount}{unit}"),
        )
}

/// An `X-Request-Timeout` value: ASCII digits only. A number too large for a `u64` is a
/// very long timeout, which the server's maximum caps anyway, not a malformed one.
fn parse_millis(value: &[u8]) -> Option<Duration> {
    parse_digits(value).map(Duration::from_millis)
}

/// One or more ASCII digits as a number, saturating at `u64::MAX`.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |number, digit| {
        number
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    #[test]
    fn grpc_timeouts_in_every_unit() {
        let cases = [
            ("1H", Duration::from_secs(3600)),
            ("2M", Duration::from_secs(120)),
            ("3S", Duration::from_secs(3)),
            ("300m", ms(300)),
            ("250u", Duration::from_micros(250)),
            ("7n", Duration::from_nanos(7)),
            ("0m", Duration::ZERO),
            ("00000001S", Duration::from_secs(1)),
            ("99999999H", Duration::from_secs(99_999_999 * 3600)),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_grpc_timeout(text.as_bytes()),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_grpc_timeouts_are_ignored() {
        let malformed: [&[u8]; 14] = [
            b"",
            b"m",
            b"300",
            b"300ms",
            b"300x",
            b"300 m",
            b" 300m",
            b"-300m",
            b"+300m",
            b"3.5S",
            b"123456789m", // nine digits
            b"999999999999999999999999999999H",
            "３００m".as_bytes(), // full-width digits
            b"\xff\xfem",
        ];
        for value in malformed {
            assert_eq!(parse_grpc_timeout(value), None, "{value:?}");
        }
    }

    #[test]
    fn millisecond_timeouts() {
        assert_eq!(parse_millis(b"300"), Some(ms(300)));
        assert_eq!(parse_millis(b"0"), Some(Duration::ZERO));
        // Huge values saturate: the server's maximum caps them.
        assert_eq!(
            parse_millis(b"99999999999999999999999999999999"),
            Some(ms(u64::MAX))
        );
        for malformed in [&b""[..], b"300ms", b"-1", b"1e3", b"3.5", b" 300", b"0x10"] {
            assert_eq!(parse_millis(malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn formatting_picks_the_finest_unit_that_fits_and_rounds_down() {
        let cases = [
            (Duration::ZERO, "0n"),
            (Duration::from_nanos(99_999_999), "99999999n"),
            (ms(100), "100000u"),
            (ms(300), "300000u"),
            (Duration::from_nanos(100_000_999), "100000u"),
            (Duration::from_secs(100), "100000m"),
            (Duration::from_secs(100_000), "100000S"),
            (Duration::from_secs(100_000_000), "1666666M"),
            (Duration::from_secs(5_999_999_940), "99999999M"),
            (Duration::from_secs(6_000_000_000), "1666666H"),
            (Duration::MAX, "99999999H"),
        ];
        for (timeout, expected) in cases {
            assert_eq!(format_grpc_timeout(timeout), expected, "{timeout:?}");
        }
    }

    #[test]
    fn formatted_timeouts_parse_back_to_at_most_the_original() {
        for nanos in [0, 1, 999, 1_000, 123_456_789, 1 << 40, 1 << 62, u64::MAX] {
            let timeout = Duration::from_nanos(nanos);
            let text = format_grpc_timeout(timeout);
            let parsed = parse_grpc_timeout(text.as_bytes()).expect("well-formed");
            assert!(parsed <= timeout, "{text} is more than {timeout:?}");
        }
    }

    #[test]
    fn the_smallest_stated_budget_wins() {
        let mut headers = HeaderMap::new();
        assert_eq!(requested_timeout(&headers), None);
        headers.insert(X_REQUEST_TIMEOUT, HeaderValue::from_static("500"));
        assert_eq!(requested_timeout(&headers), Some(ms(500)));
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("300m"));
        assert_eq!(requested_timeout(&headers), Some(ms(300)));
        headers.append(GRPC_TIMEOUT, HeaderValue::from_static("nonsense"));
        headers.append(X_REQUEST_TIMEOUT, HeaderValue::from_static("20"));
        assert_eq!(requested_timeout(&headers), Some(ms(20)));
    }

    #[test]
    fn malformed_headers_state_no_budget() {
        let mut headers = HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("soon"));
        headers.insert(X_REQUEST_TIMEOUT, HeaderValue::from_static("-5"));
        assert_eq!(requested_timeout(&headers), None);
    }

    #[test]
    fn propagation_writes_the_time_left_and_clears_without_a_deadline() {
        let root = Ctx::background();
        let request = root.with_timeout(ms(1500));
        let mut headers = HeaderMap::new();
        propagate_deadline(&request, &mut headers);
        let sent = requested_timeout(&headers).expect("both headers written");
        assert!(sent <= ms(1500) && sent > ms(1000), "{sent:?}");
        let grpc = parse_grpc_timeout(headers[GRPC_TIMEOUT].as_bytes()).expect("grpc-timeout");
        let millis = parse_millis(headers[X_REQUEST_TIMEOUT].as_bytes()).expect("millis");
        assert!(
            millis <= grpc && grpc - millis < ms(1),
            "{millis:?} vs {grpc:?}"
        );

        propagate_deadline(&root, &mut headers);
        assert!(headers.is_empty(), "{headers:?}");
    }

    #[test]
    fn a_passed_deadline_propagates_as_zero() {
        let request = Ctx::background().with_timeout(Duration::ZERO);
        let mut headers = HeaderMap::new();
        propagate_deadline(&request, &mut headers);
        assert_eq!(headers[GRPC_TIMEOUT], "0n");
        assert_eq!(headers[X_REQUEST_TIMEOUT], "0");
    }
}
