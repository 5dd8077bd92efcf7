//! The bounds `#[stale_cache]` puts on keys and values, each with a
//! diagnostic that names the argument or the return type and the fix.

use std::hash::Hash;

use super::CacheSlot;
use crate::cache::StaleCache;

/// What one part of a cache key needs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a `#[stale_cache]` key",
    label = "this argument is part of the cache key",
    note = "every part of a key must be `Hash + Eq + Clone + Send + Sync + 'static`: derive what is missing, or choose the key yourself with `key = ...`"
)]
pub trait CacheKey: Hash + Eq + Clone + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + Send + Sync + 'static> CacheKey for T {}

/// What a cached value needs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached by `#[stale_cache]`",
    label = "the success type of this function is what the cache stores",
    note = "a cached value must be `Clone + Send + Sync + 'static`: derive `Clone`, or return an `Arc` of it"
)]
pub trait CacheValue: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> CacheValue for T {}

/// One part of the default key (an argument), checked where it is written.
#[inline(always)]
pub fn key_part<T: CacheKey>(part: T) -> T {
    part
}

/// The cache of a decorated function's instantiation `instance`, its value
/// type checked at the return type.
#[inline(always)]
pub fn cache_for<K: CacheKey, V: CacheValue>(
    slot: &CacheSlot,
    instance: std::any::TypeId,
) -> &StaleCache<K, V> {
    slot.cache(instance)
}
