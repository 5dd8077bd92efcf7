//! The bounds `#[stale_cache]` puts on keys and values, each with a
//! diagnostic that names the argument or the return type and the fix.

use std::hash::Hash;

use super::CacheSlot;
use crate::stale_cache::{StaleCache, Weigh};

/// What one part of a cache key needs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a `#[stale_cache]` key",
    label = "this is part of the cache key",
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
pub trait CacheValue: Clone + Send + Sync + 'static {
    /// The type itself. The cache is typed by it, so that where the bound
    /// fails the cache's type is unknown to the compiler, which then
    /// reports nothing more about it: one error, at the return type.
    type Stored: Clone + Send + Sync + 'static;
}

impl<T: Clone + Send + Sync + 'static> CacheValue for T {
    type Stored = T;
}

/// One part of the default key (an argument), as generated code passes it:
/// `KeyArg(value).key_part()`.
///
/// Method resolution picks [`ValidKey::key_part`] when the value is a valid
/// key, and returns it unchanged. Otherwise it falls back to the inherent
/// method, whose bound reports the missing traits at the argument and which
/// returns a [`NotAKey`] that *is* a valid key: the cache call that follows
/// then type-checks, and the user sees one error, not one per bound of the
/// cache's methods.
pub struct KeyArg<T>(pub T);

/// Resolved when the part is a valid key: the part itself.
pub trait ValidKey {
    /// The part.
    type Part;
    /// The part, unchanged.
    fn key_part(self) -> Self::Part;
}

impl<T: CacheKey> ValidKey for KeyArg<T> {
    type Part = T;

    #[inline(always)]
    fn key_part(self) -> T {
        self.0
    }
}

impl<T> KeyArg<T> {
    /// Resolved only when `T` is not a valid key, and then an error.
    pub fn key_part(&self) -> NotAKey
    where
        T: KeyPart,
    {
        NotAKey
    }
}

/// The stand-in part of a key that failed to compile.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NotAKey;

/// So that a shared cache's call type-checks with it too: one error.
#[cfg(feature = "redis")]
impl serde::Serialize for NotAKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

/// What one part of the default key (an argument) needs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a `#[stale_cache]` key",
    label = "this is part of the cache key",
    note = "every part of a key must be `Hash + Eq + Clone + Send + Sync + 'static`: derive what is missing (a float is neither `Hash` nor `Eq`: key on `f64::to_bits`), or choose the key yourself with `key = ...`"
)]
pub trait KeyPart: CacheKey {}

// Not looked through in diagnostics: one error for the part, not one per
// missing trait (`Hash` and `Eq` for a float).
#[diagnostic::do_not_recommend]
impl<T: CacheKey> KeyPart for T {}

/// The cache of a decorated function's instantiation `instance`, its value
/// type checked at the return type.
#[inline(always)]
pub fn cache_for<K: CacheKey, V: CacheValue>(
    slot: &CacheSlot,
    instance: std::any::TypeId,
) -> &StaleCache<K, V::Stored> {
    slot.cache(instance)
}

/// What a value needs to be weighed (`max_bytes = ..`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be weighed for `#[stale_cache(max_bytes = ..)]`",
    label = "the success type of this function is what the cache weighs",
    note = "implement `resilience_runtime::stale_cache::Weigh` for it (the bytes it holds, roughly), or bound the cache by `capacity` alone"
)]
pub trait WeighedValue: Weigh {}

impl<T: Weigh> WeighedValue for T {}

/// [`cache_for`] for a cache bounded in bytes: its values weighed by
/// [`Weigh`].
#[inline(always)]
pub fn weighed_cache_for<K: CacheKey, V: CacheValue>(
    slot: &CacheSlot,
    instance: std::any::TypeId,
) -> &StaleCache<K, V::Stored>
where
    V::Stored: WeighedValue,
{
    slot.weighed_cache(instance, <V::Stored as Weigh>::weigh)
}

/// [`shared_cache_for`] for a cache bounded in bytes.
#[inline(always)]
pub fn weighed_shared_cache_for<
    'a,
    K: CacheKey + SharedCacheKey,
    V: CacheValue + SharedCacheValue,
>(
    slot: &'a CacheSlot,
    instance: std::any::TypeId,
    identity: &'static str,
    version: u32,
) -> &'a StaleCache<K, V::Stored>
where
    V::Stored: WeighedValue,
{
    shared_cache_weighed(
        slot,
        instance,
        identity,
        version,
        <V::Stored as Weigh>::weigh,
    )
}

/// What one part of a shared cache's key needs (`shared = true`).
#[cfg(feature = "redis")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a shared `#[stale_cache]` key",
    label = "this argument is part of the cache key, which `shared = true` writes to Redis",
    note = "every part of a shared key must be `serde::Serialize + Hash + Eq + Clone + Send + Sync + 'static`: derive `Serialize`, or choose the key yourself with `key = ...`"
)]
pub trait SharedCacheKey: CacheKey + serde::Serialize {}

#[cfg(feature = "redis")]
impl<T: CacheKey + serde::Serialize> SharedCacheKey for T {}

/// What a shared cache's value needs (`shared = true`).
#[cfg(feature = "redis")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be cached by `#[stale_cache(shared = true)]`",
    label = "the success type of this function is what the cache stores, and `shared = true` writes it to Redis",
    note = "a shared value must be `serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static`: derive `Serialize` and `Deserialize`"
)]
pub trait SharedCacheValue: CacheValue + serde::Serialize + serde::de::DeserializeOwned {}

#[cfg(feature = "redis")]
impl<T: CacheValue + serde::Serialize + serde::de::DeserializeOwned> SharedCacheValue for T {}

/// Stands for the `redis` feature where it is off: nothing implements it,
/// so `shared = true` without the feature is one error that says so.
#[cfg(not(feature = "redis"))]
#[diagnostic::on_unimplemented(
    message = "`shared = true` needs the `redis` feature of `resilience-runtime`",
    label = "this value would be shared over Redis",
    note = "enable it in Cargo.toml: `features = [\"redis\"]` on `resilience-runtime`, then call `resilience_runtime::fleet::connect` at start-up"
)]
pub trait SharedCacheValue {}

/// Stands for the `redis` feature where it is off (see [`SharedCacheValue`]).
#[cfg(not(feature = "redis"))]
pub trait SharedCacheKey {}

#[cfg(not(feature = "redis"))]
impl<T> SharedCacheKey for T {}

/// The cache of a `shared = true` function's instantiation `instance`, its
/// value type checked at the return type; `identity` names its entries in
/// Redis (`name = "..."`, or [`fleet_identity`](super::fleet_identity)),
/// and `version` the version of their value type (`version = n`; 0: none).
#[inline(always)]
pub fn shared_cache_for<'a, K: CacheKey + SharedCacheKey, V: CacheValue + SharedCacheValue>(
    slot: &'a CacheSlot,
    instance: std::any::TypeId,
    identity: &'static str,
    version: u32,
) -> &'a StaleCache<K, V::Stored> {
    shared_cache_weighed(slot, instance, identity, version, |_| {
        size_of::<V::Stored>()
    })
}

/// The shared cache, or without the `redis` feature (an error already
/// reported at the return type) the local one.
#[inline(always)]
fn shared_cache_weighed<'a, K: CacheKey, V: Clone + Send + Sync + 'static>(
    slot: &'a CacheSlot,
    instance: std::any::TypeId,
    identity: &'static str,
    version: u32,
    weigher: fn(&V) -> usize,
) -> &'a StaleCache<K, V> {
    #[cfg(feature = "redis")]
    return slot.shared_cache(instance, identity, version, weigher);
    #[cfg(not(feature = "redis"))]
    {
        let _ = (identity, version);
        slot.weighed_cache(instance, weigher)
    }
}
