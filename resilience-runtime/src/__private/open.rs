//! Turning a rejected call into the decorated function's own error.

use crate::breaker::CircuitOpen;

/// An error type a `#[breaker]` function can return when its circuit is
/// open: any `E: From<CircuitOpen>`. A trait of its own so that a missing
/// conversion is reported as such, with the fix, at the function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot report an open circuit: `#[breaker]` needs `{Self}: From<CircuitOpen>`",
    label = "the error type of this `#[breaker]` function has no `From<CircuitOpen>`",
    note = "if `{Self}` is your own type, add `impl From<resilience_runtime::CircuitOpen> for {Self}`; if it is another crate's, return an enum or newtype of yours that wraps it and has that impl (`std::io::Error` already has it)"
)]
pub trait OpenError: Sized {
    /// The error for a call the breaker rejected.
    fn from_open(open: CircuitOpen) -> Self;
}

impl<E: From<CircuitOpen>> OpenError for E {
    #[inline]
    fn from_open(open: CircuitOpen) -> Self {
        E::from(open)
    }
}

/// What a `#[breaker]` function returns when its circuit is open.
#[cold]
pub fn circuit_open<T, E: OpenError>(open: CircuitOpen) -> Result<T, E> {
    Err(E::from_open(open))
}
