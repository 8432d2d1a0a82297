//! The W3C trace context (`traceparent`): read from incoming requests, carried as a value of
//! the request's context, written into outgoing ones, so a chain of services (HTTP, gRPC)
//! is one trace, as it is one deadline.
//!
//! tethered keeps the trace id and makes this service's own parent id; recording spans is a
//! tracer's work (OpenTelemetry), which can read the ids from here.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};

/// `traceparent`: `00-<trace id, 32 hex>-<parent id, 16 hex>-<flags, 2 hex>`.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// A request's place in a trace, set by [`RequestCtxLayer`](super::RequestCtxLayer) as a
/// value of the request's context: `ctx.value::<TraceContext>()`.
///
/// The trace id is the caller's when the request carries a valid `traceparent` (version
/// `00`, ids not all zeros), and a new one otherwise; the span id is this service's own,
/// new for every request, and is what outgoing requests name as their parent.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    flags: u8,
}

impl TraceContext {
    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }

    /// This service's span id for the request, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        format!("{:016x}", self.span_id)
    }

    /// Whether the caller asked for the trace to be recorded (the `sampled` flag).
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The context of a request with these headers: the caller's trace, continued.
    pub(crate) fn from_headers(headers: &HeaderMap) -> TraceContext {
        let caller = headers
            .get(TRACEPARENT)
            .and_then(|value| value.to_str().ok())
            .and_then(parse);
        match caller {
            Some((trace_id, flags)) => TraceContext {
                trace_id,
                span_id: new_span_id(),
                flags,
            },
            None => TraceContext {
                trace_id: (u128::from(new_span_id()) << 64) | u128::from(new_span_id()),
                span_id: new_span_id(),
                flags: 1,
            },
        }
    }

    /// The `traceparent` of a request this service sends on the request's behalf.
    pub fn header_value(&self) -> HeaderValue {
        HeaderValue::try_from(self.to_string()).expect("hex digits and dashes are a header value")
    }
}

impl fmt::Display for TraceContext {
    /// As `traceparent` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.span_id, self.flags
        )
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceContext({self})")
    }
}

/// A version-00 `traceparent`'s trace id and flags; `None` when malformed or all zeros.
fn parse(value: &str) -> Option<(u128, u8)> {
    let mut parts = value.trim().split('-');
    let (version, trace_id, parent_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
    };
    if parts.next().is_some()
        || version != "00"
        || !hex(trace_id, 32)
        || !hex(parent_id, 16)
        || !hex(flags, 2)
    {
        return None;
    }
    let trace_id = u128::from_str_radix(trace_id, 16).ok()?;
    let parent_id = u64::from_str_radix(parent_id, 16).ok()?;
    (trace_id != 0 && parent_id != 0).then_some((trace_id, u8::from_str_radix(flags, 16).ok()?))
}

/// A new, non-zero 64-bit id: unique within the process, random across processes.
fn new_span_id() -> u64 {
    // std seeds each RandomState from the OS: random ids without a dependency.
    static STATE: LazyLock<RandomState> = LazyLock::new(RandomState::new);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let id = STATE.hash_one(NEXT.fetch_add(1, Ordering::Relaxed));
    id.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(traceparent: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_str(traceparent).unwrap());
        headers
    }

    #[test]
    fn a_callers_trace_is_continued_under_a_new_span() {
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let trace = TraceContext::from_headers(&headers(caller));
        assert_eq!(trace.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(trace.span_id(), "00f067aa0ba902b7");
        assert!(trace.sampled());
        let sent = trace.to_string();
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(sent.ends_with("-01"), "{sent}");
        assert_eq!(
            TraceContext::from_headers(&headers(&sent)).trace_id(),
            trace.trace_id()
        );
    }

    #[test]
    fn a_malformed_or_zero_traceparent_starts_a_new_trace() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            let trace = TraceContext::from_headers(&headers(bad));
            assert_ne!(
                trace.trace_id(),
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "{bad:?}"
            );
            assert_ne!(trace.trace_id(), "0".repeat(32), "{bad:?}");
        }
        let (a, b) = (
            TraceContext::from_headers(&HeaderMap::new()),
            TraceContext::from_headers(&HeaderMap::new()),
        );
        assert_ne!(a.trace_id(), b.trace_id());
    }
}
