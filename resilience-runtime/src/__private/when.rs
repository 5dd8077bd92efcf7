//! `when = f`: the predicate of `#[retry]`, `#[breaker]` and `#[fallback]`,
//! as generated code checks it: `WhenFn::<E, _>::new(f).predicate()`.
//!
//! Method resolution picks [`ValidWhen::predicate`] when `f` is a
//! `fn(&E) -> bool`, and returns it unchanged. Anything else (the error
//! taken by value, another error type, another result) falls through to
//! the inherent method, whose bound is one error at `when = ...` that
//! states the signature expected, instead of a type mismatch at the call.

use std::marker::PhantomData;

/// A `when` predicate for errors of type `E`, being checked.
pub struct WhenFn<E, F> {
    function: F,
    error: PhantomData<fn(&E)>,
}

impl<E, F> WhenFn<E, F> {
    /// The predicate `function`, for errors of type `E`.
    #[inline(always)]
    pub fn new(function: F) -> Self {
        Self {
            function,
            error: PhantomData,
        }
    }

    /// Resolved only when `F` is no predicate of `E`, and then an error: a
    /// stand-in that lets the rest type-check, so that error is the only one.
    pub fn predicate(&self) -> fn(&E) -> bool
    where
        F: WhenPredicate<E>,
    {
        |_| false
    }
}

/// Resolved when the predicate has the right signature: the predicate.
pub trait ValidWhen<E> {
    /// The predicate's type.
    type Predicate: Fn(&E) -> bool;
    /// The predicate, unchanged.
    fn predicate(self) -> Self::Predicate;
}

impl<E, F: Fn(&E) -> bool> ValidWhen<E> for WhenFn<E, F> {
    type Predicate = F;

    #[inline(always)]
    fn predicate(self) -> F {
        self.function
    }
}

/// Implemented by no type: the bound that reports a `when` of the wrong
/// signature.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `when` predicate for errors of type `{E}`",
    label = "expected `fn(&{E}) -> bool`",
    note = "a `when` predicate takes the error by reference and says whether it counts: `fn is_transient(error: &{E}) -> bool`"
)]
pub trait WhenPredicate<E> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_odd(n: &u32) -> bool {
        n % 2 == 1
    }

    #[test]
    fn a_predicate_of_the_right_signature_is_returned_unchanged() {
        let predicate = WhenFn::<u32, _>::new(is_odd).predicate();
        assert!(predicate(&3));
        assert!(!predicate(&4));
    }
}
