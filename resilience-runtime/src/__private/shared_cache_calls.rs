//! The request `#[stale_cache(shared = true)]` makes of its cache: with
//! the `redis` feature, through the process's fleet; without it, the local
//! request (code that uses it does not compile without the feature: the
//! value type's `SharedCacheValue` check says to enable it, and is the only
//! error).

use std::hash::Hash;

use super::CacheValue;
use super::cache_calls::request;
use crate::stale_cache::StaleCache;
use crate::stale_cache::request::Request;
#[cfg(feature = "redis")]
use crate::stale_cache::request::{Inline, Shared};

/// [`request`] with the process's fleet as the second tier.
#[cfg(feature = "redis")]
#[inline(always)]
pub fn shared_request<'c, K, V, H>(
    cache: &'c StaleCache<K, V>,
    key: K,
    function: &'static str,
    errors: H,
) -> Request<'c, K, V, H, Inline, Shared<'static>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
{
    request(cache, key, function, errors).shared()
}

/// [`request`], local: without the `redis` feature the value type's check
/// has already failed, with the one error that says to enable it.
#[cfg(not(feature = "redis"))]
#[inline(always)]
pub fn shared_request<'c, K, V, H>(
    cache: &'c StaleCache<K, V>,
    key: K,
    function: &'static str,
    errors: H,
) -> Request<'c, K, V, H>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: CacheValue,
{
    request(cache, key, function, errors)
}
