//! [`TimedOut`]: the error of a call that `#[timeout]` cut off, and what
//! happens when one is cut off (an event and a count).

use std::cell::Cell;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use crate::clock;
use crate::meters::CounterDef;

/// `timeouts_total{function}`.
static TIMEOUTS_TOTAL: CounterDef = CounterDef::new(
    "timeouts_total",
    "Calls cut off by #[timeout] at their deadline",
);

/// A call did not finish within its `#[timeout]`: its future was dropped at
/// the deadline, so whatever it was waiting on was abandoned.
///
/// A function decorated with `#[timeout]` returns its own error type, so that
/// type needs `From<TimedOut>`, as it needs `From<CircuitOpen>` under
/// `#[breaker]`:
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::TimedOut;
///
/// #[derive(Debug)]
/// enum ApiError {
///     Timeout { after: Duration },
///     Http(u16),
/// }
///
/// impl From<TimedOut> for ApiError {
///     fn from(timed_out: TimedOut) -> Self {
///         ApiError::Timeout { after: timed_out.after() }
///     }
/// }
/// # let _ = ApiError::Http(500);
/// ```
///
/// An `std::io::Error` converts from it too, with kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut), so a function returning
/// `io::Result` works as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    function: &'static str,
    after: Duration,
}

impl TimedOut {
    /// The call of `function` (its `module::path::name`) cut off after
    /// `after`. `#[timeout]` builds these; this is for tests of your own
    /// `From<TimedOut>` conversions.
    ///
    /// ```
    /// # use resilience_runtime::TimedOut;
    /// # use std::time::Duration;
    /// let timed_out = TimedOut::new("app::fetch", Duration::from_secs(2));
    /// assert_eq!(timed_out.to_string(), "`app::fetch` did not finish within 2s; its call was dropped");
    /// ```
    pub const fn new(function: &'static str, after: Duration) -> Self {
        Self { function, after }
    }

    /// The function whose call was cut off, as `module::path::name`.
    ///
    /// ```
    /// # use resilience_runtime::TimedOut;
    /// # use std::time::Duration;
    /// assert_eq!(TimedOut::new("app::fetch", Duration::ZERO).function(), "app::fetch");
    /// ```
    pub const fn function(&self) -> &'static str {
        self.function
    }

    /// The bound the call exceeded: the `after` of its `#[timeout]`.
    ///
    /// ```
    /// # use resilience_runtime::TimedOut;
    /// # use std::time::Duration;
    /// let timed_out = TimedOut::new("app::fetch", Duration::from_millis(250));
    /// assert_eq!(timed_out.after(), Duration::from_millis(250));
    /// ```
    pub const fn after(&self) -> Duration {
        self.after
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` did not finish within {:?}; its call was dropped",
            self.function, self.after
        )
    }
}

impl std::error::Error for TimedOut {}

/// An [`io::Error`](std::io::Error) of kind
/// [`TimedOut`](std::io::ErrorKind::TimedOut) that carries the [`TimedOut`]
/// (get it back with `get_ref` and `downcast_ref`).
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use resilience_runtime::TimedOut;
///
/// let error = io::Error::from(TimedOut::new("app::fetch", Duration::from_secs(2)));
/// assert_eq!(error.kind(), io::ErrorKind::TimedOut);
/// let inner = error.get_ref().and_then(|e| e.downcast_ref::<TimedOut>()).unwrap();
/// assert_eq!(inner.after(), Duration::from_secs(2));
/// ```
impl From<TimedOut> for std::io::Error {
    fn from(timed_out: TimedOut) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, timed_out)
    }
}

/// Runs `future` for at most `after` on the one clock (`tokio::time`, so a
/// paused runtime drives it): its output, or, at the deadline, the future
/// dropped (inside [`cutting_off`]), one warning event and one
/// `timeouts_total{function}`.
pub(crate) async fn within<F: Future>(
    function: &'static str,
    after: Duration,
    future: F,
) -> Result<F::Output, TimedOut> {
    let mut future = pin!(Some(future));
    let polled = tokio::time::timeout(
        after,
        poll_fn(|cx| match future.as_mut().as_pin_mut() {
            Some(future) => future.poll(cx),
            // Unreachable: the future is dropped only after this one ends.
            None => Poll::Pending,
        }),
    )
    .await;
    match polled {
        Ok(output) => Ok(output),
        Err(_) => {
            // Dropped here, in place, so that what it holds (a breaker's
            // permit) knows it was cut off, not abandoned by its caller.
            let cut = CuttingOff::enter();
            future.set(None);
            drop(cut);
            Err(expired(function, after))
        }
    }
}

thread_local! {
    /// Set while a `#[timeout]` drops the call it cut off.
    static CUTTING_OFF: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread is dropping a call that a `#[timeout]` cut
/// off at its deadline: a breaker's permit dropped now counts as a failure,
/// where a permit dropped for any other reason (the caller went away)
/// counts as neither.
#[inline]
pub(crate) fn cutting_off() -> bool {
    CUTTING_OFF.try_with(Cell::get).unwrap_or(false)
}

/// [`cutting_off`] is true while it lives; the value before is put back
/// when it ends (a `#[timeout]` inside the one cut off ends inside it).
struct CuttingOff {
    before: bool,
}

impl CuttingOff {
    fn enter() -> Self {
        Self {
            before: CUTTING_OFF
                .try_with(|cell| cell.replace(true))
                .unwrap_or(false),
        }
    }
}

impl Drop for CuttingOff {
    /// Also when a destructor of the call panics.
    fn drop(&mut self) {
        let _ = CUTTING_OFF.try_with(|cell| cell.set(self.before));
    }
}

/// A call of `function` cut off after `after`: told and counted.
#[cold]
pub(crate) fn expired(function: &'static str, after: Duration) -> TimedOut {
    tracing::warn!(
        target: "resilience",
        function,
        elapsed_ms = clock::millis(after),
        "call timed out: its future was dropped at the deadline"
    );
    TIMEOUTS_TOTAL.increment(&[("function", function)]);
    TimedOut::new(function, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_events;

    #[test]
    fn display_names_the_function_and_the_bound() {
        let timed_out = TimedOut::new("app::fetch", Duration::from_millis(1500));
        assert_eq!(
            timed_out.to_string(),
            "`app::fetch` did not finish within 1.5s; its call was dropped"
        );
        let error: Box<dyn std::error::Error + Send + Sync> = Box::new(timed_out);
        assert!(error.source().is_none());
    }

    #[test]
    fn an_io_error_of_kind_timed_out_carries_it() {
        let timed_out = TimedOut::new("app::fetch", Duration::from_secs(2));
        let error = std::io::Error::from(timed_out.clone());
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        let inner = error.into_inner().unwrap().downcast::<TimedOut>().unwrap();
        assert_eq!(*inner, timed_out);
    }

    #[tokio::test(start_paused = true)]
    async fn a_future_that_ends_in_time_gives_its_output() {
        let start = tokio::time::Instant::now();
        let output = within("app::quick", Duration::from_secs(2), async {
            tokio::time::sleep(Duration::from_millis(1999)).await;
            7
        })
        .await;
        assert_eq!(output, Ok(7));
        assert_eq!(start.elapsed(), Duration::from_millis(1999));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_future_is_dropped_at_the_deadline() {
        struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let guard = Dropped(std::sync::Arc::clone(&dropped));
        let start = tokio::time::Instant::now();
        let output = within("app::hung", Duration::from_secs(2), async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        })
        .await;
        assert_eq!(
            output,
            Err(TimedOut::new("app::hung", Duration::from_secs(2)))
        );
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert!(dropped.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permit_the_deadline_drops_fails_and_one_its_caller_drops_does_not() {
        use crate::breaker::{Breaker, BreakerConfig, WindowCounts};
        let breaker = Breaker::new("timeout-permits", BreakerConfig::new());
        let hung = || async {
            let _permit = breaker.try_acquire().unwrap();
            std::future::pending::<()>().await;
        };
        let cut = within("app::hung", Duration::from_secs(1), hung()).await;
        assert!(cut.is_err());
        assert!(!cutting_off(), "only while the call is dropped");
        let failed = WindowCounts {
            successes: 0,
            failures: 1,
        };
        assert_eq!(breaker.counts(), failed);
        let left = tokio::time::timeout(
            Duration::from_millis(500),
            within("app::hung", Duration::from_secs(1), hung()),
        )
        .await;
        assert!(left.is_err(), "the caller went away first");
        assert_eq!(breaker.counts(), failed, "not counted");
    }

    #[test]
    fn a_timeout_is_one_warning_with_the_function_and_the_bound() {
        test_events::record_events();
        let _ = expired("app::hung", Duration::from_millis(2500));
        let events = test_events::recorded_events();
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.level, tracing::Level::WARN);
        assert_eq!(event.target, "resilience");
        assert_eq!(event.fields["function"], "app::hung");
        assert_eq!(event.fields["elapsed_ms"], "2500");
    }
}
