//! The calls `#[stale_cache(shared = true)]` makes on its cache: with the
//! `redis` feature, through the process's fleet; without it, the local calls
//! (code that uses them does not compile without the feature: the value
//! type's `SharedCacheValue` check says to enable it, and is the only error).

use std::future::Future;
use std::hash::Hash;

use crate::stale_cache::{LoadErrors, StaleCache};

#[cfg(feature = "redis")]
use serde::{Serialize, de::DeserializeOwned};

/// What a shared key and value need: serde with the feature, nothing
/// without (there the value's check fails first).
#[cfg(feature = "redis")]
pub trait Shareable: Serialize + DeserializeOwned {}
#[cfg(feature = "redis")]
impl<T: Serialize + DeserializeOwned> Shareable for T {}
/// What a shared key and value need (nothing without the feature).
#[cfg(not(feature = "redis"))]
pub trait Shareable {}
#[cfg(not(feature = "redis"))]
impl<T> Shareable for T {}

/// What a shared key needs: `Serialize` with the feature.
#[cfg(feature = "redis")]
pub trait ShareableKey: Serialize {}
#[cfg(feature = "redis")]
impl<T: Serialize> ShareableKey for T {}
/// What a shared key needs (nothing without the feature).
#[cfg(not(feature = "redis"))]
pub trait ShareableKey {}
#[cfg(not(feature = "redis"))]
impl<T> ShareableKey for T {}

/// `#[stale_cache(shared = true)]` on an `async fn`, refreshing inline.
#[inline(always)]
pub fn cache_get_or_load_shared<K, V, E, F, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: F,
    errors: H,
) -> impl Future<Output = Result<V, E>>
where
    K: Hash + Eq + Clone + Send + Sync + ShareableKey + 'static,
    V: Clone + Send + Sync + Shareable + 'static,
    F: Future<Output = Result<V, E>>,
    H: LoadErrors<E>,
{
    #[cfg(feature = "redis")]
    return cache.get_or_load_shared_with(key, function, load, errors);
    #[cfg(not(feature = "redis"))]
    return cache.get_or_load_with(key, function, load, errors);
}

/// `#[stale_cache(shared = true, refresh = "background")]` on an `async fn`.
#[inline(always)]
pub fn cache_get_or_revalidate_shared<K, V, E, F, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: F,
    errors: H,
) -> impl Future<Output = Result<V, E>>
where
    K: Hash + Eq + Clone + Send + Sync + ShareableKey + 'static,
    V: Clone + Send + Sync + Shareable + 'static,
    E: 'static,
    F: Future<Output = Result<V, E>> + Send + 'static,
    H: LoadErrors<E> + Send + 'static,
{
    #[cfg(feature = "redis")]
    return cache.get_or_revalidate_shared_with(key, function, load, errors);
    #[cfg(not(feature = "redis"))]
    return cache.get_or_revalidate_with(key, function, load, errors);
}

/// `#[stale_cache(shared = true)]` on a sync `fn`, refreshing inline.
#[inline(always)]
pub fn cache_get_or_load_shared_blocking<K, V, E, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: impl FnOnce() -> Result<V, E>,
    errors: H,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + ShareableKey + 'static,
    V: Clone + Send + Sync + Shareable + 'static,
    H: LoadErrors<E>,
{
    #[cfg(feature = "redis")]
    return cache.get_or_load_shared_blocking_with(key, function, load, errors);
    #[cfg(not(feature = "redis"))]
    return cache.get_or_load_blocking_with(key, function, load, errors);
}

/// `#[stale_cache(shared = true, refresh = "background")]` on a sync `fn`.
#[inline(always)]
pub fn cache_get_or_revalidate_shared_blocking<K, V, E, L, H>(
    cache: &StaleCache<K, V>,
    key: K,
    function: &'static str,
    load: L,
    errors: H,
) -> Result<V, E>
where
    K: Hash + Eq + Clone + Send + Sync + ShareableKey + 'static,
    V: Clone + Send + Sync + Shareable + 'static,
    E: 'static,
    L: FnOnce() -> Result<V, E> + Send + 'static,
    H: LoadErrors<E> + Send + 'static,
{
    #[cfg(feature = "redis")]
    return cache.get_or_revalidate_shared_blocking_with(key, function, load, errors);
    #[cfg(not(feature = "redis"))]
    return cache.get_or_revalidate_blocking_with(key, function, load, errors);
}
