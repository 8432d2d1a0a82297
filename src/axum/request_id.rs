//! The request id: the client's `x-request-id` when it is a plain token, else a new one.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use http::{HeaderMap, HeaderName, HeaderValue};

/// `x-request-id`: read from the request, and set on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a client.
const MAX_LEN: usize = 128;

/// A request's id, set by [`RequestCtxLayer`](super::RequestCtxLayer) as a value of the
/// request's context: `ctx.value::<RequestId>()`.
///
/// It is the client's `x-request-id` when that is 1 to 128 ASCII letters, digits, `-`,
/// `_`, `.` or `:` (UUIDs, ULIDs, trace ids), and a generated one otherwise. That rule makes
/// it safe to write into logs and SQL comments as it is: it cannot forge a log line or
/// close a comment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// The id, as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The client's id from `headers`, when there is one that follows the rule above.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<RequestId> {
        let text = headers.get(X_REQUEST_ID)?.to_str().ok()?;
        let plain = |byte: u8| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte);
        let acceptable = !text.is_empty() && text.len() <= MAX_LEN && text.bytes().all(plain);
        acceptable.then(|| RequestId(Arc::from(text)))
    }

    /// A new id, unique within this process and, with overwhelming likelihood, across
    /// processes: 32 hex digits, a random per-process prefix then a counter.
    pub(crate) fn generate() -> RequestId {
        // std seeds each RandomState from the OS: a random prefix without a dependency.
        static PREFIX: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0u8));
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        RequestId(Arc::from(format!("{:016x}{n:016x}", *PREFIX)))
    }

    /// The id as a header value.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.0).ok()
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

    fn from(value: &'static [u8]) -> Option<RequestId> {
        let mut headers = HeaderMap::new();
        headers.insert(
            X_REQUEST_ID,
            HeaderValue::from_bytes(value).expect("a header value"),
        );
        RequestId::from_headers(&headers)
    }

    #[test]
    fn plain_client_ids_are_kept() {
        for id in [
            "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "req_1.2:3",
        ] {
            assert_eq!(from(id.as_bytes()).expect(id).as_str(), id);
        }
        assert!(from(&[b'a'; MAX_LEN]).is_some());
    }

    #[test]
    fn other_client_ids_are_refused() {
        let refused: [&'static [u8]; 6] = [
            b"",
            b"a b",
            b"*/ DROP TABLE users; /*",
            b"line\tbreak",
            b"caf\xc3\xa9",
            &[b'a'; MAX_LEN + 1],
        ];
        for id in refused {
            assert!(from(id).is_none(), "{id:?}");
        }
        assert!(RequestId::from_headers(&HeaderMap::new()).is_none());
    }

    #[test]
    fn generated_ids_are_distinct_and_follow_the_rule() {
        let first = RequestId::generate();
        let second = RequestId::generate();
        assert_ne!(first, second);
        assert_eq!(first.as_str().len(), 32);
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, first.header_value().expect("a header value"));
        assert_eq!(RequestId::from_headers(&headers), Some(first));
    }
}
