//! The only door generated code goes through. Not public API: everything
//! here may change in any release, in step with `resilience-macros`.

pub use core::time::Duration;

pub use crate::breaker::{
    BreakerConfig, BreakerSlot, CircuitOpen, DEFAULT_MAX_KEYS, KeyedBreakerSlot, Permit,
};
pub use crate::bulkhead::{BulkheadConfig, BulkheadSlot};
pub use crate::describe::{DescribeDebug, DescribeDisplay, DescribeOpaque, ErrorRef};
pub use crate::fallback::{
    AsyncFallback, AsyncFallbackFn, AsyncFallbackShape, CallAsync, CallAsyncForSync, CallSync,
    CallSyncForAsync, FallbackIsAsync, FallbackIsSync, FallbackShape, SyncFallback, SyncFallbackFn,
    fallback_invoked,
};
pub use crate::retry::attempt::{CallAttempt, InAttempt, in_attempt, in_attempt_blocking};
pub use crate::retry::attempts::{Attempts, FirstAttempt};
pub use crate::retry::budget::BudgetSlot;
pub use crate::retry::sync_loop::{RetrySite, retry_blocking, retry_blocking_timed, verdicts};
pub use crate::retry::{Backoff, Jitter, RetryPolicy};
pub use crate::stale_cache::slot::{CacheSlot, fleet_identity, instance_of};
pub use crate::stale_cache::{CacheConfig, Refresh, StaleCache};
pub use cache_bounds::{
    CacheKey, CacheValue, KeyArg, KeyPart, NotAKey, SharedCacheKey, SharedCacheValue, ValidKey,
    WeighedValue, cache_for, shared_cache_for, weighed_cache_for, weighed_shared_cache_for,
};
pub use cache_calls::{DescribeErrors, ErrorsOf, ShareClonedErrors, request};
pub use full::{FullError, bulkhead_full};
pub use idioms::{describe_error, load_errors, return_type};
pub use keyed::{ToBreakerKey, keyed_breaker};
pub use open::{OpenError, circuit_open};
pub use shape::{CloneArgument, ResultLike, attempt, clone_argument, from_result, into_result};
pub use shared_breaker::{Fleet, RedisFeature, breaker_quorum, shared_breaker};
pub use shared_cache_calls::shared_request;
pub use timeout::{TimeoutError, timed_out, within};
pub use when::{ValidWhen, WhenFn, WhenPredicate};

mod cache_bounds;
mod cache_calls;
pub mod chaos;
mod full;
mod idioms;
mod keyed;
mod open;
mod shape;
mod shared_breaker;
mod shared_cache_calls;
mod timeout;
mod when;

/// Waits between async attempts, on the one clock; a zero wait (testing
/// mode, `backoff = "none"`) does not touch the timer.
#[inline]
pub async fn sleep(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

/// Waits between sync attempts.
#[inline]
pub fn sleep_blocking(duration: Duration) {
    if !duration.is_zero() {
        std::thread::sleep(duration);
    }
}
