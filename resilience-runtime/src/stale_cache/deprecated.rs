//! The methods of the first release, one per combination of sync or async,
//! load or revalidate, local, process fleet or given fleet: kept for one
//! release as `#[deprecated]` forwarders to the [request API](super::request),
//! which says each combination with one builder.

use std::fmt;
use std::future::Future;
use std::hash::Hash;

#[cfg(feature = "redis")]
use serde::{Serialize, de::DeserializeOwned};

use super::cache::StaleCache;
#[cfg(feature = "redis")]
use crate::fleet::Fleet;

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Deprecated: the request API says the same.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k", "doc").describe(|_: &(), f| f.write_str("down")).load(async { Ok::<_, ()>(1) }).await;
    /// # assert_eq!(value, Ok(1));
    /// # }
    /// ```
    #[deprecated(note = "use `cache.request(key, function).describe(describe).load(load).await`")]
    pub async fn get_or_load<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.load(load).await
    }

    /// Deprecated: the request API says the same.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k", "doc").revalidate().load(async { Ok::<_, ()>(1) }).await;
    /// # assert_eq!(value, Ok(1));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().load(load).await`"
    )]
    pub async fn get_or_revalidate<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        E: 'static,
        F: Future<Output = Result<V, E>> + Send + 'static,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
    {
        let request = self.request(key, function).describe(describe);
        request.revalidate().load(load).await
    }

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
}

#[cfg(feature = "redis")]
impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    /// Deprecated: the request API says the same, `.shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").shared().load(async { Ok::<_, ()>(7) }).await;
    /// # assert_eq!(value, Ok(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).shared().load(load).await`"
    )]
    pub async fn get_or_load_shared<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.shared().load(load).await
    }

    /// Deprecated: the request API says the same, `.on(fleet)`.
    ///
    /// ```no_run
    /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
    /// # async fn run(fleet: &Fleet) {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").on(fleet).load(async { Ok::<_, ()>(7) }).await;
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).on(fleet).load(load).await`"
    )]
    pub async fn get_or_load_on<E, F, D>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.on(fleet).load(load).await
    }

    /// Deprecated: the request API says the same, `.shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").shared().load_blocking(|| Ok::<_, ()>(7));
    /// # assert_eq!(value, Ok(7));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).shared().load_blocking(load)`"
    )]
    pub fn get_or_load_shared_blocking<E, D>(
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
        request.shared().load_blocking(load)
    }

    /// Deprecated: the request API says the same, `.on(fleet)`.
    ///
    /// ```no_run
    /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
    /// # fn run(fleet: &Fleet) {
    /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request("k".into(), "doc").on(fleet).load_blocking(|| Ok::<_, ()>(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).on(fleet).load_blocking(load)`"
    )]
    pub fn get_or_load_on_blocking<E, D>(
        &self,
        fleet: &Fleet,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        describe: D,
    ) -> Result<V, E>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let request = self.request(key, function).describe(describe);
        request.on(fleet).load_blocking(load)
    }

    /// Deprecated: the request API says the same, `.revalidate().shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let cache: StaleCache<u8, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request(1, "doc").revalidate().shared().load(async { Ok::<_, ()>(7) }).await;
    /// # assert_eq!(value, Ok(7));
    /// # }
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().shared().load(load).await`"
    )]
    pub async fn get_or_revalidate_shared<E, F, D>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        describe: D,
    ) -> Result<V, E>
    where
        E: 'static,
        F: Future<Output = Result<V, E>> + Send + 'static,
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
    {
        let request = self.request(key, function).describe(describe);
        request.revalidate().shared().load(load).await
    }

    /// Deprecated: the request API says the same, `.revalidate().shared()`.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// # let cache: StaleCache<u8, u64> = StaleCache::new(CacheConfig::new());
    /// let value = cache.request(1, "doc").revalidate().shared().load_blocking(|| Ok::<_, ()>(7));
    /// # assert_eq!(value, Ok(7));
    /// ```
    #[deprecated(
        note = "use `cache.request(key, function).describe(describe).revalidate().shared().load_blocking(load)`"
    )]
    pub fn get_or_revalidate_shared_blocking<E, L, D>(
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
        request.revalidate().shared().load_blocking(load)
    }
}
