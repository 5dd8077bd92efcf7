//! Where `#[stale_cache]` keeps its cache: a `static` inside the decorated
//! function, typed without naming the key or value type.

use std::any::Any;
use std::hash::Hash;
use std::sync::OnceLock;

use crate::cache::{CacheConfig, StaleCache};

/// A lazily created, type-erased [`StaleCache`] for a `static`.
///
/// `K` and `V` are inferred where [`cache`](Self::cache) is called, so the
/// `static` never names them:
///
/// ```
/// use resilience_runtime::__private::{CacheConfig, CacheSlot};
///
/// fn load_config(env: &'static str) -> Result<String, std::io::Error> {
///     static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new());
///     SLOT.cache().get_or_load_blocking(
///         env,
///         "app::load_config",
///         || Ok(format!("config of {env}")),
///         |error, f| write!(f, "{error}"),
///     )
/// }
///
/// assert_eq!(load_config("prod").unwrap(), "config of prod");
/// ```
///
/// A `static` inside a generic function is one for all its instantiations,
/// so one slot can be asked for several `(K, V)` pairs. That is not a
/// mismatch to panic about: each pair gets a cache of its own, created on
/// first use and found by a short walk past the others (the first pair
/// created is found without one). Never one cache shared across types.
pub struct CacheSlot {
    config: CacheConfig,
    head: Node,
}

/// One cache of the slot, and the link to the next `(K, V)` pair's.
struct Node {
    cache: OnceLock<Box<dyn Any + Send + Sync>>,
    next: OnceLock<Box<Node>>,
}

impl CacheSlot {
    /// An empty slot; the cache is built with `config` on first use.
    pub const fn new(config: CacheConfig) -> Self {
        Self {
            config,
            head: Node::new(),
        }
    }

    /// The cache for keys `K` and values `V`.
    #[inline]
    pub fn cache<K, V>(&self) -> &StaleCache<K, V>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let first = self.head.cache.get_or_init(|| self.build::<K, V>());
        match first.downcast_ref() {
            Some(cache) => cache,
            None => self.other::<K, V>(),
        }
    }

    /// The cache of a `(K, V)` pair other than the first one created.
    #[cold]
    #[inline(never)]
    fn other<K, V>(&self) -> &StaleCache<K, V>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let mut node = &self.head;
        loop {
            node = node.next.get_or_init(|| Box::new(Node::new()));
            let cache = node.cache.get_or_init(|| self.build::<K, V>());
            if let Some(cache) = cache.downcast_ref() {
                return cache;
            }
        }
    }

    fn build<K, V>(&self) -> Box<dyn Any + Send + Sync>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        Box::new(StaleCache::<K, V>::new(self.config))
    }
}

impl Node {
    const fn new() -> Self {
        Self {
            cache: OnceLock::new(),
            next: OnceLock::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new().capacity(8));

    #[test]
    fn one_pair_always_gets_the_same_cache() {
        let a: &StaleCache<u32, String> = SLOT.cache();
        let b: &StaleCache<u32, String> = SLOT.cache();
        assert!(std::ptr::eq(a, b));
        assert_eq!(a.config().capacity_value(), 8);
    }

    #[test]
    fn different_pairs_get_different_caches() {
        let slot = CacheSlot::new(CacheConfig::new());
        let describe = |_: &(), _: &mut std::fmt::Formatter<'_>| Ok(());
        let numbers = slot.cache::<u8, u64>();
        let words = slot.cache::<u8, &'static str>();
        let more = slot.cache::<String, u64>();
        assert_eq!(
            numbers.get_or_load_blocking(1, "t", || Ok(10), describe),
            Ok(10)
        );
        assert_eq!(
            words.get_or_load_blocking(1, "t", || Ok("ten"), describe),
            Ok("ten")
        );
        assert_eq!(
            more.get_or_load_blocking("1".into(), "t", || Ok(11), describe),
            Ok(11)
        );
        // Each pair finds its own cache again, with its own entries.
        assert!(std::ptr::eq(numbers, slot.cache::<u8, u64>()));
        assert!(std::ptr::eq(words, slot.cache::<u8, &'static str>()));
        assert!(std::ptr::eq(more, slot.cache::<String, u64>()));
        let not_called = || -> Result<u64, ()> { unreachable!("fresh") };
        assert_eq!(
            numbers.get_or_load_blocking(1, "t", not_called, describe),
            Ok(10)
        );
    }

    /// What generated code in a generic function amounts to.
    fn generic<T: Clone + Send + Sync + 'static>(value: T) -> T {
        static SLOT: CacheSlot = CacheSlot::new(CacheConfig::new());
        SLOT.cache::<u8, T>()
            .get_or_load_blocking(0, "generic", || Ok::<_, ()>(value), |_, _| Ok(()))
            .unwrap()
    }

    #[test]
    fn each_instantiation_of_a_generic_function_has_its_own_cache() {
        assert_eq!(generic(1_u64), 1);
        assert_eq!(generic("one"), "one");
        assert_eq!(generic(2_u64), 1, "fresh value of the u64 instantiation");
        assert_eq!(
            generic("two"),
            "one",
            "fresh value of the &str instantiation"
        );
    }
}
