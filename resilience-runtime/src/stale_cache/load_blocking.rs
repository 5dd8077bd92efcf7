//! The sync methods: wait for a shared load by blocking the thread; refresh
//! in the background on one of a few shared refresher threads.

use std::fmt;
use std::hash::Hash;

use super::cache::StaleCache;
use super::errors::LoadErrors;
use super::load_loop::{Alone, LoadLoop};

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Deprecated: the request API says the same.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k", "doc").describe(|_: &(), f| f.write_str("down")).load_blocking(|| Ok::<_, ()>(1));
    /// # assert_eq!(value, Ok(1));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).load_blocking(load)`"
    )]
    pub fn get_or_load_blocking<E, D>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        describe: D,
    ) -> Result<V, E>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.load_blocking(load)
    }

    /// [`get_or_load_blocking`](Self::get_or_load_blocking) with `errors`
    /// deciding how a failed load's error is described and whether its
    /// waiters share it.
    pub(super) fn get_or_load_blocking_with<E, H: LoadErrors<E>>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        errors: H,
    ) -> Result<V, E> {
        if let Ok(value) = self.lookup_blocking(&key, function) {
            return Ok(value);
        }
        self.load_inline_blocking(key, function, load, errors)
    }

    /// Deprecated: the request API says the same.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k", "doc").revalidate().load_blocking(|| Ok::<_, ()>(1));
    /// # assert_eq!(value, Ok(1));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().load_blocking(load)`"
    )]
    pub fn get_or_revalidate_blocking<E, L, D>(
        &self,
        key: K,
        function: &'static str,
        load: L,
        describe: D,
    ) -> Result<V, E>
    where
        E: 'static,
        L: FnOnce() -> Result<V, E> + Send + 'static,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
    {
        let request = self.request(key, function).describe(describe);
        request.revalidate().load_blocking(load)
    }

    /// [`get_or_revalidate_blocking`](Self::get_or_revalidate_blocking) with
    /// `errors` deciding how a failed load's error is described and whether
    /// its waiters share it.
    pub(super) fn get_or_revalidate_blocking_with<E, L, H>(
        &self,
        key: K,
        function: &'static str,
        load: L,
        errors: H,
    ) -> Result<V, E>
    where
        E: 'static,
        L: FnOnce() -> Result<V, E> + Send + 'static,
        H: LoadErrors<E> + Send + 'static,
    {
        let seen = match self.lookup_blocking(&key, function) {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        self.revalidate_through_blocking(Alone, seen, key, function, load, errors)
    }

    /// Past the hit path: the one load loop, with no second tier.
    pub(super) fn load_inline_blocking<E, H: LoadErrors<E>>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        errors: H,
    ) -> Result<V, E> {
        LoadLoop::new(self, Alone, key, function, errors).run_blocking(load)
    }
}
