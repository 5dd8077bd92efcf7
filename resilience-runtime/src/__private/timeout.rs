//! `#[timeout]`: the deadline, and turning a cut-off call into the
//! decorated function's own error.

use std::future::Future;
use std::time::Duration;

use crate::TimedOut;

/// An error type a `#[timeout]` function can return when its call is cut
/// off: any `E: From<TimedOut>`. A trait of its own so that a missing
/// conversion is reported as such, with the fix, at the function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot report a timeout: `#[timeout]` needs `{Self}: From<TimedOut>`",
    label = "the error type of this `#[timeout]` function has no `From<TimedOut>`",
    note = "add `impl From<resilience_runtime::TimedOut> for {Self}`, so that a call cut off at its deadline returns your own error"
)]
pub trait TimeoutError: Sized {
    /// The error for a call cut off at its deadline.
    fn from_timed_out(timed_out: TimedOut) -> Self;
}

impl<E: From<TimedOut>> TimeoutError for E {
    #[inline]
    fn from_timed_out(timed_out: TimedOut) -> Self {
        E::from(timed_out)
    }
}

/// What a `#[timeout]` function returns when its call is cut off.
#[cold]
pub fn timed_out<T, E: TimeoutError>(timed_out: TimedOut) -> Result<T, E> {
    Err(E::from_timed_out(timed_out))
}

/// `future`, for at most `after`: see `crate::timeout::within`.
#[inline]
pub fn within<F: Future>(
    function: &'static str,
    after: Duration,
    future: F,
) -> impl Future<Output = Result<F::Output, TimedOut>> {
    crate::timeout::within(function, after, future)
}
