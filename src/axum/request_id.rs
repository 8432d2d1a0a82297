//! The request id of an HTTP request: the client's `x-request-id` when it is a plain token
//! (see [`RequestId`]), else a new one.

use http::{HeaderMap, HeaderName, HeaderValue};
pub use tethered_core::RequestId;

/// `x-request-id`: read from the request, and set on the response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The client's id from `headers`, when there is one that follows [`RequestId`]'s rule.
pub(crate) fn from_headers(headers: &HeaderMap) -> Option<RequestId> {
    RequestId::new(headers.get(X_REQUEST_ID)?.to_str().ok()?)
}

/// The id as a header value.
pub(crate) fn header_value(id: &RequestId) -> Option<HeaderValue> {
    HeaderValue::from_str(id.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_client_id_is_taken_and_travels_back_as_a_header() {
        let id = RequestId::generate();
        let mut headers = HeaderMap::new();
        headers.insert(X_REQUEST_ID, header_value(&id).expect("a header value"));
        assert_eq!(from_headers(&headers), Some(id));
    }

    #[test]
    fn a_missing_or_unsafe_client_id_is_not_taken() {
        assert!(from_headers(&HeaderMap::new()).is_none());
        let mut headers = HeaderMap::new();
        headers.insert(
            X_REQUEST_ID,
            HeaderValue::from_static("*/ DROP TABLE users; /*"),
        );
        assert!(from_headers(&headers).is_none());
    }
}
