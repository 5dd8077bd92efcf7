//! `#[fallback]`: calling the fallback with the decorated function's
//! arguments and its error. Going through these traits turns a fallback of
//! the wrong shape into one error at `fn = ...` that shows the expected
//! signature (`Args` is the tuple of parameter types), instead of a type
//! error inside generated code.

use std::fmt::Display;
use std::future::Future;

/// A sync function usable as the fallback for arguments `Args`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the fallback of this function",
    label = "expected a fallback `fn{Args} -> {Output}`",
    note = "a fallback takes the decorated function's arguments (and its receiver, for `fn = Self::..`) followed by the error, and returns the same type"
)]
pub trait SyncFallback<Args, Output> {
    /// Calls the fallback.
    fn call_fallback(self, args: Args) -> Output;
}

/// An async function usable as the fallback for arguments `Args`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the fallback of this async function",
    label = "expected an async fallback `async fn{Args} -> {Output}`",
    note = "the fallback of an `async fn` is an `async fn` too; it takes the decorated function's arguments (and its receiver, for `fn = Self::..`) followed by the error, and returns the same type"
)]
pub trait AsyncFallback<Args, Output> {
    /// The fallback's future.
    type Future: Future<Output = Output>;
    /// Calls the fallback.
    fn call_fallback(self, args: Args) -> Self::Future;
}

macro_rules! fallback_arities {
    ($($arg:ident)*) => {
        #[allow(non_snake_case)]
        impl<F, $($arg,)* Output> SyncFallback<($($arg,)*), Output> for F
        where
            F: FnOnce($($arg),*) -> Output,
        {
            #[inline]
            fn call_fallback(self, ($($arg,)*): ($($arg,)*)) -> Output {
                self($($arg),*)
            }
        }

        #[allow(non_snake_case)]
        impl<F, Fut, $($arg,)* Output> AsyncFallback<($($arg,)*), Output> for F
        where
            F: FnOnce($($arg),*) -> Fut,
            Fut: Future<Output = Output>,
        {
            type Future = Fut;

            #[inline]
            fn call_fallback(self, ($($arg,)*): ($($arg,)*)) -> Fut {
                self($($arg),*)
            }
        }
    };
}

// The error alone, up to a receiver, eleven arguments and the error.
fallback_arities!(A1);
fallback_arities!(A1 A2);
fallback_arities!(A1 A2 A3);
fallback_arities!(A1 A2 A3 A4);
fallback_arities!(A1 A2 A3 A4 A5);
fallback_arities!(A1 A2 A3 A4 A5 A6);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12);
fallback_arities!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10 A11 A12 A13);

/// The fallback is about to answer for `error`: the one place that counts
/// `fallback_invocations_total`, marks the recovery scope, and emits the
/// warning event.
#[cold]
pub fn fallback_invoked(function: &'static str, error: &dyn Display) {
    crate::meters::count_fallback(function);
    crate::recovery::fallback_used();
    tracing::warn!(target: "resilience", function, error = %error, "falling back: the call failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(id: u32, error: &'static str) -> Result<String, &'static str> {
        Ok(format!("cached {id} after {error}"))
    }

    async fn cached_async(id: u32, error: &'static str) -> Result<String, &'static str> {
        cached(id, error)
    }

    #[test]
    fn calls_with_the_arguments_then_the_error() {
        assert_eq!(
            SyncFallback::call_fallback(cached, (7, "down")),
            Ok("cached 7 after down".to_string())
        );
    }

    #[tokio::test]
    async fn async_fallbacks_are_awaited() {
        let answer = AsyncFallback::call_fallback(cached_async, (7, "down")).await;
        assert_eq!(answer, Ok("cached 7 after down".to_string()));
    }
}
