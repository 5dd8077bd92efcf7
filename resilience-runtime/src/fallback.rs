//! `#[fallback]`: calling the fallback with the decorated function's
//! arguments and its error. Going through these traits turns a fallback of
//! the wrong shape into one error at `fn = ...` that shows the expected
//! signature (`Args` is the tuple of parameter types), instead of a type
//! error inside generated code.

use std::fmt::Display;
use std::future::{Future, Pending};
use std::marker::PhantomData;

use crate::meters::CounterDef;

/// `fallback_invocations_total{function}`.
static FALLBACK_INVOCATIONS_TOTAL: CounterDef = CounterDef::new(
    "fallback_invocations_total",
    "Calls answered by the #[fallback] function",
);

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

/// The fallback of a sync function, as generated code calls it:
/// `SyncFallbackFn::<Args, Output, _>::new(f).call_fallback(args)`.
///
/// Method resolution picks [`CallSync`] for a sync fallback of the right
/// shape. An async function of the right shape falls through to
/// [`CallAsyncForSync`], and anything else (another number of arguments,
/// other types) to the inherent method: each of those is one error at
/// `fn = ...` that says what is wrong and states the expected signature.
pub struct SyncFallbackFn<Args, Output, F> {
    function: F,
    shape: PhantomData<fn(Args) -> Output>,
}

impl<Args, Output, F> SyncFallbackFn<Args, Output, F> {
    /// The fallback `function`, for arguments `Args` and output `Output`.
    #[inline(always)]
    pub fn new(function: F) -> Self {
        Self {
            function,
            shape: PhantomData,
        }
    }

    /// Resolved only when `F` is no fallback of this shape, and then an
    /// error: it never runs.
    pub fn call_fallback(&mut self, _args: Args) -> Output
    where
        F: FallbackShape<Args, Output>,
    {
        unreachable!("a fallback of the wrong shape does not compile")
    }
}

/// First choice: a sync fallback of the right shape.
pub trait CallSync<Args, Output> {
    /// Calls the fallback.
    fn call_fallback(self, args: Args) -> Output;
}

impl<Args, Output, F: SyncFallback<Args, Output>> CallSync<Args, Output>
    for SyncFallbackFn<Args, Output, F>
{
    #[inline(always)]
    fn call_fallback(self, args: Args) -> Output {
        self.function.call_fallback(args)
    }
}

/// Second: an async function of the right shape, which must be made sync.
pub trait CallAsyncForSync<Args, Output, F> {
    /// An error: the fallback is `async`. It never runs.
    fn call_fallback(self, args: Args) -> Output
    where
        F: FallbackIsSync;
}

impl<Args, Output, F: AsyncFallback<Args, Output>> CallAsyncForSync<Args, Output, F>
    for &SyncFallbackFn<Args, Output, F>
{
    fn call_fallback(self, _args: Args) -> Output
    where
        F: FallbackIsSync,
    {
        unreachable!("an async fallback of a sync function does not compile")
    }
}

/// Implemented by no type: the bound that reports a fallback whose
/// parameters or return type do not fit, with the signature expected.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the fallback of this function",
    label = "expected a fallback `fn{Args} -> {Output}`",
    note = "a fallback takes the decorated function's arguments (and its receiver, for `fn = Self::..`) followed by the error, and returns the same type: give it exactly these parameters"
)]
pub trait FallbackShape<Args, Output> {}

/// Implemented by no type: the bound that reports an `async fn` named as
/// the fallback of a sync one.
#[diagnostic::on_unimplemented(
    message = "the fallback of a sync `fn` must be a sync `fn` too",
    label = "this fallback is an `async fn`",
    note = "write the fallback as a plain `fn`, with the same parameters and return type, or make the decorated function `async`"
)]
pub trait FallbackIsSync {}

/// The fallback of an async function, as generated code calls it:
/// `AsyncFallbackFn::<Args, Output, _>::new(f).call_fallback(args).await`.
///
/// Method resolution picks [`CallAsync`] for an async fallback of the right
/// shape. A sync function of the right shape falls through to
/// [`CallSyncForAsync`], and anything else to the inherent method: each of
/// those is one error at `fn = ...` that says what is wrong, and returns a
/// future of the right output, so the `.await` after it reports nothing more.
pub struct AsyncFallbackFn<Args, Output, F> {
    function: F,
    shape: PhantomData<fn(Args) -> Output>,
}

impl<Args, Output, F> AsyncFallbackFn<Args, Output, F> {
    /// The fallback `function`, for arguments `Args` and output `Output`.
    #[inline(always)]
    pub fn new(function: F) -> Self {
        Self {
            function,
            shape: PhantomData,
        }
    }

    /// Resolved only when `F` is no fallback of this shape, and then an error.
    pub fn call_fallback(&mut self, _args: Args) -> Pending<Output>
    where
        F: AsyncFallbackShape<Args, Output>,
    {
        std::future::pending()
    }
}

/// First choice: an async fallback of the right shape.
pub trait CallAsync<Args, Output> {
    /// The fallback's future.
    type Future: Future<Output = Output>;
    /// Calls the fallback.
    fn call_fallback(self, args: Args) -> Self::Future;
}

impl<Args, Output, F: AsyncFallback<Args, Output>> CallAsync<Args, Output>
    for AsyncFallbackFn<Args, Output, F>
{
    type Future = F::Future;

    #[inline(always)]
    fn call_fallback(self, args: Args) -> F::Future {
        self.function.call_fallback(args)
    }
}

/// Second: a sync function of the right shape, which must be made `async`.
pub trait CallSyncForAsync<Args, Output, F> {
    /// An error: the fallback is not `async`.
    fn call_fallback(self, args: Args) -> Pending<Output>
    where
        F: FallbackIsAsync;
}

impl<Args, Output, F: SyncFallback<Args, Output>> CallSyncForAsync<Args, Output, F>
    for &AsyncFallbackFn<Args, Output, F>
{
    fn call_fallback(self, _args: Args) -> Pending<Output>
    where
        F: FallbackIsAsync,
    {
        std::future::pending()
    }
}

/// Implemented by no type: the bound that reports an async fallback whose
/// parameters or return type do not fit, with the signature expected.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the fallback of this async function",
    label = "expected an async fallback `async fn{Args} -> {Output}`",
    note = "the fallback of an `async fn` is an `async fn` too; it takes the decorated function's arguments (and its receiver, for `fn = Self::..`) followed by the error, and returns the same type: give it exactly these parameters"
)]
pub trait AsyncFallbackShape<Args, Output> {}

/// Implemented by no type: the bound that reports a sync fallback named for
/// an `async fn`.
#[diagnostic::on_unimplemented(
    message = "the fallback of an `async fn` must be an `async fn` too",
    label = "this fallback is a sync `fn`",
    note = "write the fallback as `async fn`, with the same parameters and return type"
)]
pub trait FallbackIsAsync {}

/// The fallback is about to answer for `error`: the one place that counts
/// `fallback_invocations_total`, marks the recovery scope, and emits the
/// warning event.
#[cold]
pub fn fallback_invoked(function: &'static str, error: &dyn Display) {
    FALLBACK_INVOCATIONS_TOTAL.increment(&[("function", function)]);
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
