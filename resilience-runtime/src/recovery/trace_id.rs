//! [`TraceId`]: the id a request is traced under, read from its headers or
//! made anew.

use std::fmt;

use http::header::{HeaderMap, HeaderName, HeaderValue};

pub(super) const X_TRACE_ID: HeaderName = HeaderName::from_static("x-trace-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The longest `X-Trace-Id` taken from a request as it is.
const MAX_TRACE_ID_LEN: usize = 128;

/// The trace id of a request, as [`RecoveryLayer`](super::RecoveryLayer) chose it: the request's
/// `X-Trace-Id` header as it is (1 to 128 visible ASCII characters), else
/// the trace-id part of a W3C `traceparent` header, else a new random one
/// (32 lowercase hex digits, the W3C format). The layer puts it in the
/// request's extensions and on the response.
///
/// ```
/// use http::HeaderMap;
/// use resilience_runtime::recovery::TraceId;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(
///     "traceparent",
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
/// );
/// let id = TraceId::from_headers(&headers).unwrap();
/// assert_eq!(id.as_str(), "4bf92f3577b34da6a3ce929d0e0e4736");
///
/// headers.insert("x-trace-id", "checkout-42".parse().unwrap());
/// assert_eq!(TraceId::from_headers(&headers).unwrap().as_str(), "checkout-42");
///
/// assert_eq!(TraceId::generate().as_str().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceId(pub(super) HeaderValue);

impl TraceId {
    /// The trace id a request carries, if any: its `X-Trace-Id`, else the
    /// trace id of its `traceparent`. Malformed values are ignored.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use resilience_runtime::recovery::TraceId;
    ///
    /// assert!(TraceId::from_headers(&HeaderMap::new()).is_none());
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let given = headers
            .get(X_TRACE_ID)
            .filter(|value| is_trace_id(value.as_bytes()))
            .cloned();
        given
            .or_else(|| headers.get(TRACEPARENT).and_then(traceparent_trace_id))
            .map(Self)
    }

    /// A new random trace id: 32 lowercase hex digits, never all zero.
    ///
    /// ```
    /// use resilience_runtime::recovery::TraceId;
    ///
    /// let id = TraceId::generate();
    /// assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
    /// assert_ne!(id, TraceId::generate());
    /// ```
    pub fn generate() -> Self {
        let hex = format!("{:032x}", fastrand::u128(1..));
        // 32 hex digits are always a valid header value.
        Self(HeaderValue::from_str(&hex).unwrap_or(HeaderValue::from_static("0")))
    }

    /// The id as text.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use resilience_runtime::recovery::TraceId;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-trace-id", "abc".parse().unwrap());
    /// assert_eq!(TraceId::from_headers(&headers).unwrap().as_str(), "abc");
    /// ```
    pub fn as_str(&self) -> &str {
        // Only visible ASCII is ever stored.
        self.0.to_str().unwrap_or_default()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.as_str())
    }
}

/// 1 to 128 visible ASCII characters: safe to echo and to log.
fn is_trace_id(bytes: &[u8]) -> bool {
    (1..=MAX_TRACE_ID_LEN).contains(&bytes.len()) && bytes.iter().all(u8::is_ascii_graphic)
}

/// The trace id of `version-traceid-parentid-flags` (W3C Trace Context):
/// 32 lowercase hex digits, not all zero, under a version other than `ff`.
fn traceparent_trace_id(value: &HeaderValue) -> Option<HeaderValue> {
    let text = value.to_str().ok()?.trim();
    let mut parts = text.split('-');
    let version = parts.next()?;
    let trace_id = parts.next()?;
    let parent_id = parts.next()?;
    let flags = parts.next()?;
    let lower_hex = |s: &str, len: usize| {
        s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = lower_hex(version, 2)
        && version != "ff"
        && lower_hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && lower_hex(parent_id, 16)
        && lower_hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    valid.then(|| HeaderValue::from_str(trace_id).ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn id_of(pairs: &[(&'static str, &str)]) -> Option<String> {
        TraceId::from_headers(&headers(pairs)).map(|id| id.to_string())
    }

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn the_x_trace_id_header_wins_over_traceparent() {
        assert_eq!(
            id_of(&[("x-trace-id", "req-1"), ("traceparent", TRACEPARENT)]).as_deref(),
            Some("req-1")
        );
        assert_eq!(
            id_of(&[("traceparent", TRACEPARENT)]).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }

    #[test]
    fn malformed_ids_are_ignored() {
        let long = "a".repeat(MAX_TRACE_ID_LEN + 1);
        assert_eq!(id_of(&[("x-trace-id", &long)]), None);
        assert_eq!(id_of(&[("x-trace-id", "has space")]), None);
        assert_eq!(
            id_of(&[("x-trace-id", "")]),
            None,
            "an empty id falls through"
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all zero
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // version ff
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", // v00 has 4 parts
            "00-4bf92f35-00f067aa0ba902b7-01",
            "garbage",
        ] {
            assert_eq!(id_of(&[("traceparent", bad)]), None, "{bad}");
        }
        // A later version may add parts.
        assert!(
            id_of(&[(
                "traceparent",
                &format!("{}-extra", TRACEPARENT.replacen("00", "01", 1))
            )])
            .is_some()
        );
    }

    #[test]
    fn generated_ids_are_w3c_shaped() {
        let id = TraceId::generate();
        assert_eq!(id.as_str().len(), 32);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
    }
}
