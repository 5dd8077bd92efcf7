//! `#[bulkhead]`: turning a call a full bulkhead turned away into the
//! decorated function's own error.

use crate::BulkheadFull;

/// An error type a `#[bulkhead]` function can return when every slot is
/// taken: any `E: From<BulkheadFull>`. A trait of its own so that a missing
/// conversion is reported as such, with the fix, at the function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot report a full bulkhead: `#[bulkhead]` needs `{Self}: From<BulkheadFull>`",
    label = "the error type of this `#[bulkhead]` function has no `From<BulkheadFull>`",
    note = "add `impl From<resilience_runtime::BulkheadFull> for {Self}`, so that a call turned away by a full bulkhead returns your own error"
)]
pub trait FullError: Sized {
    /// The error for a call a full bulkhead turned away.
    fn from_full(full: BulkheadFull) -> Self;
}

impl<E: From<BulkheadFull>> FullError for E {
    #[inline]
    fn from_full(full: BulkheadFull) -> Self {
        E::from(full)
    }
}

/// What a `#[bulkhead]` function returns when every slot is taken.
#[cold]
pub fn bulkhead_full<T, E: FullError>(full: BulkheadFull) -> Result<T, E> {
    Err(E::from_full(full))
}
