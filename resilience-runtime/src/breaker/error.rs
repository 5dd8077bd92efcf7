//! [`CircuitOpen`]: the error of a call an open breaker rejected.

use std::fmt;
use std::time::Duration;

/// A call was rejected because its circuit breaker is open (or half-open
/// with every probe slot taken); the function was not called.
///
/// A function decorated with `#[breaker]` returns its own error type, so that
/// type needs `From<CircuitOpen>`:
///
/// ```
/// use resilience_runtime::CircuitOpen;
///
/// #[derive(Debug)]
/// enum ApiError {
///     Unavailable { retry_after: std::time::Duration },
///     Http(u16),
/// }
///
/// impl From<CircuitOpen> for ApiError {
///     fn from(open: CircuitOpen) -> Self {
///         ApiError::Unavailable { retry_after: open.retry_after() }
///     }
/// }
/// # let _ = ApiError::Http(500);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct CircuitOpen {
    name: &'static str,
    /// In nanoseconds: a rejection is built on the hot path of an open
    /// breaker, and splitting nanoseconds into a `Duration` costs a division
    /// that only a caller who asks for `retry_after` needs.
    retry_after_nanos: u64,
}

impl CircuitOpen {
    /// A rejection by the breaker `name`, whose next probe is allowed in
    /// `retry_after` (kept to the nanosecond, saturating at about 584
    /// years). Breakers build these; this is for tests of your own
    /// `From<CircuitOpen>` conversions.
    ///
    /// ```
    /// # use resilience_runtime::CircuitOpen;
    /// # use std::time::Duration;
    /// let open = CircuitOpen::new("payments", Duration::from_millis(12_300));
    /// assert_eq!(open.to_string(), "circuit breaker `payments` is open; next probe in 12.3s");
    /// ```
    pub const fn new(name: &'static str, retry_after: Duration) -> Self {
        let nanos = retry_after.as_nanos();
        let retry_after_nanos = if nanos > u64::MAX as u128 {
            u64::MAX
        } else {
            nanos as u64
        };
        Self {
            name,
            retry_after_nanos,
        }
    }

    /// A rejection by the breaker `name` whose next probe is allowed in
    /// `retry_after_nanos` nanoseconds.
    pub(crate) const fn from_nanos(name: &'static str, retry_after_nanos: u64) -> Self {
        Self {
            name,
            retry_after_nanos,
        }
    }

    /// The name of the breaker that rejected the call.
    ///
    /// ```
    /// # use resilience_runtime::CircuitOpen;
    /// # use std::time::Duration;
    /// assert_eq!(CircuitOpen::new("payments", Duration::ZERO).name(), "payments");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Time until the breaker lets the next probe call through. Zero while
    /// half-open: a probe is running and its outcome decides.
    ///
    /// ```
    /// # use resilience_runtime::CircuitOpen;
    /// # use std::time::Duration;
    /// let open = CircuitOpen::new("payments", Duration::from_secs(3));
    /// assert_eq!(open.retry_after(), Duration::from_secs(3));
    /// ```
    pub const fn retry_after(&self) -> Duration {
        Duration::from_nanos(self.retry_after_nanos)
    }
}

impl fmt::Debug for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitOpen")
            .field("name", &self.name)
            .field("retry_after", &self.retry_after())
            .finish()
    }
}

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name;
        let wait = self.retry_after();
        if wait.is_zero() {
            write!(
                f,
                "circuit breaker `{name}` is half-open; its probe calls are under way"
            )
        } else if wait < Duration::from_secs(1) {
            // Rounded up: "next probe in 0ms" would be a lie.
            let millis = wait.as_nanos().div_ceil(1_000_000);
            write!(
                f,
                "circuit breaker `{name}` is open; next probe in {millis}ms"
            )
        } else {
            let seconds = wait.as_secs_f64();
            write!(
                f,
                "circuit breaker `{name}` is open; next probe in {seconds:.1}s"
            )
        }
    }
}

impl std::error::Error for CircuitOpen {}

/// A `#[breaker]` function returning `std::io::Result<T>`: its error type is
/// not yours, so the orphan rule forbids you the `From<CircuitOpen>` it
/// needs, and this crate ships it. The `io::Error` has kind
/// [`Other`](std::io::ErrorKind::Other) — std's kind for an error that is
/// no I/O condition (`ConnectionRefused` would say the dependency refused
/// a connection; this call never reached it) — and carries the
/// `CircuitOpen`, which `get_ref` and `downcast` give back.
///
/// ```
/// use resilience_runtime::{CircuitOpen, breaker};
///
/// #[breaker(name = "disk", min_calls = 1)]
/// fn read_config(path: &str) -> std::io::Result<String> {
///     std::fs::read_to_string(path)
/// }
///
/// let _ = read_config("/nonexistent/config.toml"); // creates the breaker
/// breaker::registry().get("disk").unwrap().force_open();
/// let error = read_config("/etc/hostname").unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::Other);
/// let open = error.get_ref().and_then(|e| e.downcast_ref::<CircuitOpen>()).unwrap();
/// assert_eq!(open.name(), "disk");
/// ```
impl From<CircuitOpen> for std::io::Error {
    fn from(open: CircuitOpen) -> Self {
        std::io::Error::other(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_says_which_breaker_and_when() {
        let open = |ms| CircuitOpen::new("payments", Duration::from_millis(ms)).to_string();
        assert_eq!(
            open(12_345),
            "circuit breaker `payments` is open; next probe in 12.3s"
        );
        assert_eq!(
            open(250),
            "circuit breaker `payments` is open; next probe in 250ms"
        );
        assert_eq!(
            CircuitOpen::new("payments", Duration::from_nanos(1)).to_string(),
            "circuit breaker `payments` is open; next probe in 1ms"
        );
        assert_eq!(
            open(0),
            "circuit breaker `payments` is half-open; its probe calls are under way"
        );
    }

    #[test]
    fn becomes_an_io_error_that_gives_it_back() {
        let open = CircuitOpen::new("disk", Duration::from_secs(2));
        let error = std::io::Error::from(open.clone());
        assert_eq!(error.kind(), std::io::ErrorKind::Other);
        assert_eq!(error.to_string(), open.to_string());
        let back = error
            .into_inner()
            .unwrap()
            .downcast::<CircuitOpen>()
            .unwrap();
        assert_eq!(*back, open);
    }

    #[test]
    fn is_a_std_error() {
        let error: Box<dyn std::error::Error + Send + Sync> =
            Box::new(CircuitOpen::new("payments", Duration::from_secs(1)));
        assert!(error.source().is_none());
    }
}
