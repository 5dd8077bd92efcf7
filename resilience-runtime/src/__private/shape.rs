//! Type-level checks on the decorated function, each with a diagnostic that
//! names the fix instead of a type mismatch inside generated code.

/// Implemented for `Result<T, E>` only: a function whose return type is not a
/// `Result` cannot be told to have failed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`: the resilience attributes need a function returning `Result<T, E>`",
    label = "this return type is not a `Result<T, E>`",
    note = "return `Result<T, E>` (or an alias of it) so that a failure can be told from a success"
)]
pub trait ResultLike {
    /// The success type.
    type Ok;
    /// The error type.
    type Err;
    /// The value as a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
    /// A plain `Result` as the value.
    fn from_result(result: Result<Self::Ok, Self::Err>) -> Self;
}

impl<T, E> ResultLike for Result<T, E> {
    type Ok = T;
    type Err = E;

    #[inline(always)]
    fn into_result(self) -> Self {
        self
    }

    #[inline(always)]
    fn from_result(result: Self) -> Self {
        result
    }
}

/// Checks, at the return type's span, that an attempt produced a `Result`.
#[inline(always)]
pub fn into_result<R: ResultLike>(outcome: R) -> Result<R::Ok, R::Err> {
    outcome.into_result()
}

/// Gives a decorated function's value back as its declared return type.
#[inline(always)]
pub fn from_result<R: ResultLike>(result: Result<R::Ok, R::Err>) -> R {
    R::from_result(result)
}

/// An owned argument that can be given afresh to each attempt.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `Clone`, but this owned argument must be cloned for each attempt",
    label = "each attempt takes its own clone of this argument",
    note = "take the argument by reference (`&{Self}`), derive or implement `Clone` for it, or pass an `Arc` of it"
)]
pub trait CloneArgument: Sized {
    /// A copy for one attempt.
    fn clone_argument(&self) -> Self;
}

impl<T: Clone> CloneArgument for T {
    #[inline(always)]
    fn clone_argument(&self) -> Self {
        self.clone()
    }
}

/// Clones an owned argument for one attempt.
#[inline(always)]
pub fn clone_argument<T: CloneArgument>(argument: &T) -> T {
    argument.clone_argument()
}

/// Runs one sync attempt. A closure, so that `return` and `?` in the body end
/// the attempt rather than the function; a function rather than
/// `(|| ..)()`, so no lint fires on generated code.
#[inline(always)]
pub fn attempt<R>(body: impl FnOnce() -> R) -> R {
    body()
}
