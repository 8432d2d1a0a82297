//! The request id: a context value every statement's span, log line and in-flight entry
//! carries, so an operator can find the request behind a statement.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

/// The longest request id accepted.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id, kept as a value of the request's context: `ctx.with_value(id)`, read
/// back with `ctx.value::<RequestId>()`. tethered's axum and gRPC layers set one on every
/// request; each statement under the context records it (its tracing span's `request.id`,
/// [`Pool::in_flight`](crate::Pool::in_flight)).
///
/// It is 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:` (UUIDs, ULIDs, trace ids).
/// That rule makes it safe to write into logs and SQL comments as it is: it cannot forge a
/// log line or close a comment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// `text` as a request id, if it follows the rule above.
    pub fn new(text: &str) -> Option<RequestId> {
        let plain = |byte: u8| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte);
        let acceptable =
            !text.is_empty() && text.len() <= MAX_REQUEST_ID_LEN && text.bytes().all(plain);
        acceptable.then(|| RequestId(Arc::from(text)))
    }

    /// A new id, unique within this process and, with overwhelming likelihood, across
    /// processes: 32 hex digits, a random per-process prefix then a counter.
    pub fn generate() -> RequestId {
        // std seeds each RandomState from the OS: a random prefix without a dependency.
        static PREFIX: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0u8));
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        RequestId(Arc::from(format!("{:016x}{n:016x}", *PREFIX)))
    }

    /// The id, as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.as_str()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept() {
        for id in [
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "req_1.2:3",
        ] {
            assert_eq!(RequestId::new(id).expect(id).as_str(), id);
        }
        assert!(RequestId::new(&"a".repeat(MAX_REQUEST_ID_LEN)).is_some());
    }

    #[test]
    fn other_ids_are_refused() {
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        for id in [
            "",
            "a b",
            "*/ DROP TABLE users; /*",
            "line\tbreak",
            "café",
            &long,
        ] {
            assert!(RequestId::new(id).is_none(), "{id:?}");
        }
    }

    #[test]
    fn generated_ids_are_distinct_and_follow_the_rule() {
        let first = RequestId::generate();
        let second = RequestId::generate();
        assert_ne!(first, second);
        assert_eq!(first.as_str().len(), 32);
        assert_eq!(RequestId::new(first.as_str()), Some(first));
    }
}
