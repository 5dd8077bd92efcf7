//! The calls `#[stale_cache]` makes on its cache, with the error handling
//! chosen by the error type: shared with the waiters of a failed load when
//! `E: Clone + Send + Sync + 'static`, described only otherwise.
//!
//! Generated code writes
//! `(&&ErrorsOf::<E>::new()).errors(describe)`; method resolution picks
//! [`ShareClonedErrors`] when `E` can be cloned across threads, else
//! [`DescribeErrors`] (autoref specialisation), so `E` needs no bound.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;

use super::CacheValue;
use crate::stale_cache::{DescribeOnly, LoadErrors, ShareClones, StaleCache};

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

/// `#[stale_cache]` on an `async fn`, refreshing inline.
#[inline(always)]
pub fn cache_get_or_load<K, V, E, F, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: F,
    errors: H,
) -> impl Future<Output = Result<V, E>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
    F: Future<Output = Result<V, E>>,
    H: LoadErrors<E>,
{
    cache.get_or_load_with(key, function, load, errors)
}

/// `#[stale_cache(refresh = "background")]` on an `async fn`.
#[inline(always)]
pub fn cache_get_or_revalidate<K, V, E, F, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: F,
    errors: H,
) -> impl Future<Output = Result<V, E>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
    E: 'static,
    F: Future<Output = Result<V, E>> + Send + 'static,
    H: LoadErrors<E> + Send + 'static,
{
    cache.get_or_revalidate_with(key, function, load, errors)
}

/// `#[stale_cache]` on a sync `fn`, refreshing inline.
#[inline(always)]
pub fn cache_get_or_load_blocking<K, V, E, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: impl FnOnce() -> Result<V, E>,
    errors: H,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
    H: LoadErrors<E>,
{
    cache.get_or_load_blocking_with(key, function, load, errors)
}

/// `#[stale_cache(refresh = "background")]` on a sync `fn`.
#[inline(always)]
pub fn cache_get_or_revalidate_blocking<K, V, E, L, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: L,
    errors: H,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
    E: 'static,
    L: FnOnce() -> Result<V, E> + Send + 'static,
    H: LoadErrors<E> + Send + 'static,
{
    cache.get_or_revalidate_blocking_with(key, function, load, errors)
}
