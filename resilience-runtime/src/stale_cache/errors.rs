//! What a cache does with a failed load's error: describe it for events,
//! and, when it can be copied, hand it to the callers that waited for the
//! same load.
//!
//! A cold key whose load fails would otherwise cost one upstream call per
//! waiting caller, exactly when the upstream is failing. `E` needs no bound
//! for the cache to work, so sharing is opt-in per error type: `#[stale_cache]`
//! picks [`ShareClones`] when its error type is `Clone + Send + Sync +
//! 'static` and [`DescribeOnly`] otherwise (then each waiter loads for
//! itself, as the public methods of [`StaleCache`](super::StaleCache) do).
//!
//! By hand, [`Request::describe`](super::request::Request::describe) picks
//! [`DescribeOnly`]:
//!
//! ```
//! use resilience_runtime::stale_cache::{CacheConfig, StaleCache, errors::DescribeOnly};
//! use resilience_runtime::stale_cache::request::Request;
//!
//! let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
//! let describe = |code: &u16, f: &mut std::fmt::Formatter<'_>| write!(f, "HTTP {code}");
//! let request: Request<'_, u8, u8, DescribeOnly<_>> = cache.request(1, "doc").describe(describe);
//! assert_eq!(request.load_blocking(|| Err(503)), Err(503));
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// How a cache treats the errors of its loads.
pub trait LoadErrors<E> {
    /// Writes `error` for the `error` field of events.
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// A copy of `error` for the waiters of the same load, if it can be had.
    fn share(&self, error: &E) -> Option<SharedError>;

    /// A waiter's own copy of a shared error.
    fn unshare(&self, shared: &SharedError) -> Option<E>;
}

/// A failed load's error, type-erased, shared by its waiters.
#[derive(Clone)]
pub struct SharedError(Arc<dyn Any + Send + Sync>);

/// Errors described with `D`, never shared: each waiter of a failed load
/// serves a stale value or loads for itself.
pub struct DescribeOnly<D>(pub D);

/// Errors described with `D` and cloned for every waiter of a failed load.
pub struct ShareClones<D>(pub D);

impl<E, D> LoadErrors<E> for DescribeOnly<D>
where
    D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
{
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(error, f)
    }

    fn share(&self, _: &E) -> Option<SharedError> {
        None
    }

    fn unshare(&self, _: &SharedError) -> Option<E> {
        None
    }
}

impl<E, D> LoadErrors<E> for ShareClones<D>
where
    E: Clone + Send + Sync + 'static,
    D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
{
    fn describe(&self, error: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(error, f)
    }

    fn share(&self, error: &E) -> Option<SharedError> {
        Some(SharedError(Arc::new(error.clone())))
    }

    fn unshare(&self, shared: &SharedError) -> Option<E> {
        shared.0.downcast_ref::<E>().cloned()
    }
}

/// An error written by its [`LoadErrors`], for an event's `error` field.
pub(super) struct Described<'a, E, H>(pub(super) &'a E, pub(super) &'a H);

impl<E, H: LoadErrors<E>> fmt::Display for Described<'_, E, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.1.describe(self.0, f)
    }
}
