//! The calls `#[stale_cache]` makes on its cache, with the error handling
//! chosen by the error type: shared with the waiters of a failed load when
//! `E: Clone + Send + Sync + 'static`, described only otherwise.
//!
//! Generated code writes
//! `(&&ErrorsOf::<E>::new()).errors(describe)`; method resolution picks
//! [`ShareClonedErrors`] when `E` can be cloned across threads, else
//! [`DescribeErrors`] (autoref specialisation), so `E` needs no bound.

use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

use super::CacheValue;
use crate::stale_cache::request::Request;
use crate::stale_cache::{DescribeOnly, ShareClones, StaleCache};

/// The error type of a decorated function, for choosing how its cache
/// treats that error.
pub struct ErrorsOf<E>(PhantomData<fn() -> E>);

impl<E> ErrorsOf<E> {
    /// The marker.
    #[inline(always)]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<E> Default for ErrorsOf<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// First choice: errors cloned for every waiter of a failed load.
pub trait ShareClonedErrors<E> {
    /// The errors' handling, describing with `describe`.
    fn errors<D>(&self, describe: D) -> ShareClones<D>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<E: Clone + Send + Sync + 'static> ShareClonedErrors<E> for &ErrorsOf<E> {
    #[inline(always)]
    fn errors<D>(&self, describe: D) -> ShareClones<D>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        ShareClones(describe)
    }
}

/// Fallback: errors described only; each waiter of a failed load loads.
pub trait DescribeErrors<E> {
    /// The errors' handling, describing with `describe`.
    fn errors<D>(&self, describe: D) -> DescribeOnly<D>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<E> DescribeErrors<E> for ErrorsOf<E> {
    #[inline(always)]
    fn errors<D>(&self, describe: D) -> DescribeOnly<D>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        DescribeOnly(describe)
    }
}

/// The request `#[stale_cache]` makes of its cache, with `errors` handling
/// a failed load's error; generated code then says `.revalidate()` for
/// `refresh = "background"` and runs it with `.load(..).await` or
/// `.load_blocking(..)`, the public request API.
#[inline(always)]
pub fn request<'c, K, V, H>(
    cache: &'c StaleCache<K, V>,
    key: K,
    function: &'static str,
    errors: H,
) -> Request<'c, K, V, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
{
    cache.request(key, function).with_errors(errors)
}
