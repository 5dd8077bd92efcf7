//! [`BulkheadFull`]: the error of a call a full bulkhead turned away.

use std::fmt;
use std::time::Duration;

/// A call found every slot of its `#[bulkhead]` taken, and none freed
/// within `max_wait`: it did not run.
///
/// A function decorated with `#[bulkhead]` returns its own error type, so
/// that type needs `From<BulkheadFull>`, as it needs `From<CircuitOpen>`
/// under `#[breaker]`:
///
/// ```
/// use resilience_runtime::BulkheadFull;
///
/// #[derive(Debug)]
/// enum ApiError {
///     Busy,
///     Http(u16),
/// }
///
/// impl From<BulkheadFull> for ApiError {
///     fn from(_: BulkheadFull) -> Self {
///         ApiError::Busy
///     }
/// }
/// # let _ = ApiError::Http(500);
/// ```
///
/// An `std::io::Error` converts from it too, with kind
/// [`WouldBlock`](std::io::ErrorKind::WouldBlock), so a function returning
/// `io::Result` works as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkheadFull {
    bulkhead: &'static str,
    max_concurrent: u32,
    waited: Duration,
}

impl BulkheadFull {
    /// The bulkhead `bulkhead`, `max_concurrent` calls running, turned a
    /// call away after it waited `waited`. `#[bulkhead]` builds these; this
    /// is for tests of your own `From<BulkheadFull>` conversions.
    ///
    /// ```
    /// # use resilience_runtime::BulkheadFull;
    /// # use std::time::Duration;
    /// let full = BulkheadFull::new("search", 10, Duration::from_millis(50));
    /// assert_eq!(
    ///     full.to_string(),
    ///     "bulkhead `search` is full: 10 calls running, none ended within 50ms; the call did not run"
    /// );
    /// ```
    pub const fn new(bulkhead: &'static str, max_concurrent: u32, waited: Duration) -> Self {
        Self {
            bulkhead,
            max_concurrent,
            waited,
        }
    }

    /// The bulkhead's name.
    ///
    /// ```
    /// # use resilience_runtime::BulkheadFull;
    /// # use std::time::Duration;
    /// assert_eq!(BulkheadFull::new("search", 1, Duration::ZERO).bulkhead(), "search");
    /// ```
    pub const fn bulkhead(&self) -> &'static str {
        self.bulkhead
    }

    /// Its limit: the calls that were running.
    ///
    /// ```
    /// # use resilience_runtime::BulkheadFull;
    /// # use std::time::Duration;
    /// assert_eq!(BulkheadFull::new("search", 8, Duration::ZERO).max_concurrent(), 8);
    /// ```
    pub const fn max_concurrent(&self) -> u32 {
        self.max_concurrent
    }

    /// How long the call waited for a slot: the bulkhead's `max_wait`.
    ///
    /// ```
    /// # use resilience_runtime::BulkheadFull;
    /// # use std::time::Duration;
    /// let full = BulkheadFull::new("search", 8, Duration::from_millis(20));
    /// assert_eq!(full.waited(), Duration::from_millis(20));
    /// ```
    pub const fn waited(&self) -> Duration {
        self.waited
    }
}

impl fmt::Display for BulkheadFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bulkhead `{}` is full: {} calls running, none ended within {:?}; the call did not run",
            self.bulkhead, self.max_concurrent, self.waited
        )
    }
}

impl std::error::Error for BulkheadFull {}

/// An [`io::Error`](std::io::Error) of kind
/// [`WouldBlock`](std::io::ErrorKind::WouldBlock) that carries the
/// [`BulkheadFull`] (get it back with `get_ref` and `downcast_ref`).
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use resilience_runtime::BulkheadFull;
///
/// let error = io::Error::from(BulkheadFull::new("search", 4, Duration::ZERO));
/// assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
/// let inner = error.get_ref().and_then(|e| e.downcast_ref::<BulkheadFull>()).unwrap();
/// assert_eq!(inner.bulkhead(), "search");
/// ```
impl From<BulkheadFull> for std::io::Error {
    fn from(full: BulkheadFull) -> Self {
        std::io::Error::new(std::io::ErrorKind::WouldBlock, full)
    }
}
