//! Where `#[stale_cache]` keeps its caches: a `static` inside the decorated
//! function, one cache per instantiation of that function, typed without
//! naming the key or value type.

use std::any::{Any, TypeId};
use std::sync::OnceLock;

use crate::__private::{CacheKey, CacheValue};
use crate::stale_cache::{CacheConfig, StaleCache};

/// A lazily created, type-erased [`StaleCache`] for a `static`, one per
/// instantiation of the function the `static` is in.
///
/// A `static` inside a function is one for every instantiation of it: for a
/// method of `impl<B: Backend> Client<B>`, `Client<Mock>::fetch` and
/// `Client<Prod>::fetch` share it, and so do the implementations of a trait
/// default method. One cache for all of them would hand one type's values
/// to the other. So the caller names its instantiation — the
/// [`instance_of`] a closure written in the function, whose type differs
/// per instantiation — and each instantiation gets a cache of its own,
/// created on first use and found by a short walk past the others (the
/// first one created is found without one).
///
/// ```
/// use resilience_runtime::__private::{CacheConfig, CacheSlot, instance_of};
///
/// fn load_config(env: &'static str) -> Result<String, std::io::Error> {
///     static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new());
///     SLOT.cache(instance_of(&|| ()))
///         .request(env, "app::load_config")
///         .describe(|error: &std::io::Error, f| write!(f, "{error}"))
///         .load_blocking(|| Ok(format!("config of {env}")))
/// }
///
/// assert_eq!(load_config("prod").unwrap(), "config of prod");
/// ```
pub struct CacheSlot {
    config: CacheConfig,
    head: Node,
}

/// One instantiation's cache, and the link to the next one's.
struct Node {
    entry: OnceLock<Entry>,
    next: OnceLock<Box<Node>>,
}

struct Entry {
    instance: TypeId,
    cache: Box<dyn Any + Send + Sync>,
}

/// Names the instantiation of the function it is called in: pass it a
/// reference to a closure written there (`instance_of(&|| ())`). A closure's
/// type carries every generic parameter of the function and of its `impl`,
/// so each instantiation gets another `TypeId` (lifetimes aside, which
/// cannot change what a `'static` cache holds).
#[inline(always)]
pub fn instance_of<T: ?Sized>(_: &T) -> TypeId {
    typeid::of::<T>()
}

/// The identity of a shared cache's entries in Redis for the function it
/// is called in: pass it a reference to a closure written there
/// (`fleet_identity(&|| ())`). It is the closure's type name, which names
/// the function with its `Self` type, its trait and the generic arguments
/// of its `impl` (`app::Users::get`, `<app::Users as app::Repo>::get`,
/// `app::Client<app::Prod>::fetch`): two methods `get` of one module are
/// two identities, and so are two instantiations of one generic `impl`. It
/// is the same in every build of the same code by the same compiler; a
/// compiler may spell it otherwise (then the entries of the old build are
/// misses), which `name = "..."` avoids. A constant: it costs a call
/// nothing, and is trimmed only when the cache is built.
///
/// ```
/// use resilience_runtime::__private::fleet_identity;
///
/// struct Users;
/// impl Users {
///     fn identity(&self) -> &'static str {
///         fleet_identity(&|| ())
///     }
/// }
/// assert!(Users.identity().ends_with("Users::identity::{{closure}}"));
/// ```
#[inline(always)]
pub fn fleet_identity<T: ?Sized>(_: &T) -> &'static str {
    std::any::type_name::<T>()
}

impl CacheSlot {
    /// An empty slot; each cache is built with `config` on first use.
    pub const fn new(config: CacheConfig) -> Self {
        Self {
            config,
            head: Node::new(),
        }
    }

    /// The cache of the instantiation `instance`, for keys `K` and values `V`.
    #[inline]
    pub fn cache<K: CacheKey, V: CacheValue>(&self, instance: TypeId) -> &StaleCache<K, V> {
        self.cache_named(instance, None, |_| size_of::<V>())
    }

    /// The cache of the instantiation `instance`, its values weighed by
    /// `weigher` toward the configured [`max_bytes`](CacheConfig::max_bytes)
    /// (`#[stale_cache(max_bytes = ..)]`).
    ///
    /// ```
    /// use resilience_runtime::__private::{CacheConfig, CacheSlot, instance_of};
    /// use resilience_runtime::stale_cache::Weigh;
    ///
    /// static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new().max_bytes(1 << 20));
    /// let cache = SLOT.weighed_cache::<u8, Vec<u8>>(instance_of(&|| ()), Weigh::weigh);
    /// assert_eq!(cache.config().max_bytes_value(), Some(1 << 20));
    /// ```
    #[inline]
    pub fn weighed_cache<K: CacheKey, V: CacheValue>(
        &self,
        instance: TypeId,
        weigher: fn(&V) -> usize,
    ) -> &StaleCache<K, V> {
        self.cache_named(instance, None, weigher)
    }

    /// The cache of the instantiation `instance`, built with `fleet_name`
    /// as the identity of its entries in Redis (`shared = true`): the name
    /// given with `name = "..."`, or the instantiation's own path (see
    /// [`fleet_identity`]).
    #[cfg(feature = "redis")]
    #[inline]
    pub(crate) fn shared_cache<K: CacheKey, V: CacheValue>(
        &self,
        instance: TypeId,
        fleet_name: &'static str,
        version: u32,
        weigher: fn(&V) -> usize,
    ) -> &StaleCache<K, V> {
        self.cache_named(instance, Some((fleet_name, version)), weigher)
    }

    /// The cache of the instantiation `instance`, built on first use; a
    /// `fleet_name` is its identity in Redis and its value type's version.
    #[inline(always)]
    fn cache_named<K: CacheKey, V: CacheValue>(
        &self,
        instance: TypeId,
        fleet_name: Option<(&'static str, u32)>,
        weigher: fn(&V) -> usize,
    ) -> &StaleCache<K, V> {
        let build = || {
            #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
            let mut cache = StaleCache::<K, V>::with_weigher(self.config, weigher);
            #[cfg(feature = "redis")]
            if let Some((name, version)) = fleet_name {
                // A `fleet_identity` without the closures it was read in.
                cache.fleet_name = Some(name.trim_end_matches("::{{closure}}"));
                cache.fleet_version = version;
            }
            #[cfg(not(feature = "redis"))]
            let _ = fleet_name;
            Entry {
                instance,
                cache: Box::new(cache),
            }
        };
        match self.head.entry.get_or_init(build).get(instance) {
            Some(cache) => cache,
            None => self.head.after(instance, build),
        }
    }
}

impl Entry {
    /// The cache, if it is `instance`'s (and so of `K` and `V`).
    #[inline]
    fn get<K: 'static, V: 'static>(&self, instance: TypeId) -> Option<&StaleCache<K, V>> {
        if self.instance == instance {
            self.cache.downcast_ref()
        } else {
            None
        }
    }
}

impl Node {
    const fn new() -> Self {
        Self {
            entry: OnceLock::new(),
            next: OnceLock::new(),
        }
    }

    /// The cache of an instantiation other than the first one created:
    /// found past this node, or built by `build` in the first free one.
    #[cold]
    #[inline(never)]
    fn after<K: 'static, V: 'static>(
        &self,
        instance: TypeId,
        build: impl Fn() -> Entry,
    ) -> &StaleCache<K, V> {
        let mut node = self;
        loop {
            node = node.next.get_or_init(|| Box::new(Node::new()));
            if let Some(cache) = node.entry.get_or_init(&build).get(instance) {
                return cache;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new().capacity(8));

    #[test]
    fn one_instance_always_gets_the_same_cache() {
        let instance = TypeId::of::<u8>();
        let a: &StaleCache<u32, String> = SLOT.cache(instance);
        let b: &StaleCache<u32, String> = SLOT.cache(instance);
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.config().capacity_value(), 8);
    }
}
