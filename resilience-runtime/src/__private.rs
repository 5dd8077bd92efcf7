//! The only door generated code goes through. Not public API: everything
//! here may change in any release, in step with `resilience-macros`.

pub use core::time::Duration;

pub use crate::cache::{CacheConfig, Refresh, StaleCache};
pub use crate::circuit::{
    BreakerConfig, BreakerSlot, CircuitOpen, DEFAULT_MAX_KEYS, KeyedBreakerSlot, Permit,
};
pub use crate::retry_policy::{Backoff, Jitter, RetryPolicy};
pub use attempts::Attempts;
pub use cache_bounds::{CacheKey, CacheValue, cache_for, key_part};
pub use cache_calls::{
    DescribeErrors, ErrorsOf, ShareClonedErrors, cache_get_or_load, cache_get_or_load_blocking,
    cache_get_or_revalidate, cache_get_or_revalidate_blocking,
};
pub use cache_slot::{CacheSlot, instance_of};
pub use describe::{DescribeDebug, DescribeDisplay, DescribeOpaque, ErrorRef};
pub use fallback::{AsyncFallback, SyncFallback, fallback_invoked};
pub use keyed::{ToBreakerKey, keyed_breaker};
pub use open::{OpenError, circuit_open};
pub use shape::{CloneArgument, ResultLike, attempt, clone_argument, into_result};
pub use timeout::{TimeoutError, timed_out, within};

mod attempts;
mod cache_bounds;
mod cache_calls;
mod cache_slot;
mod describe;
mod fallback;
mod keyed;
mod open;
mod shape;
mod timeout;

/// Waits between async attempts, on the one clock.
pub use tokio::time::sleep;

/// Waits between sync attempts.
#[inline]
pub fn sleep_blocking(duration: Duration) {
    if !duration.is_zero() {
        std::thread::sleep(duration);
    }
}
