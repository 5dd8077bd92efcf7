//! The async methods: wait for a shared load without blocking the thread;
//! refresh in the background on the tokio runtime.

use std::fmt;
use std::future::Future;
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

    /// [`get_or_load`](Self::get_or_load) with `errors` deciding how a
    /// failed load's error is described and whether its waiters share it.
    pub(super) async fn get_or_load_with<E, F, H>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        H: LoadErrors<E>,
    {
        if let Ok(value) = self.lookup(&key, function) {
            return Ok(value);
        }
        self.load_inline(key, function, load, errors).await
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

    /// [`get_or_revalidate`](Self::get_or_revalidate) with `errors` deciding
    /// how a failed load's error is described and whether waiters share it.
    pub(super) async fn get_or_revalidate_with<E, F, H>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        E: 'static,
        F: Future<Output = Result<V, E>> + Send + 'static,
        H: LoadErrors<E> + Send + 'static,
    {
        let seen = match self.lookup(&key, function) {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        self.revalidate_through(Alone, seen, key, function, load, errors)
            .await
    }

    /// Past the hit path: the one load loop, with no second tier.
    pub(super) async fn load_inline<E, F, H>(
        &self,
        key: K,
        function: &'static str,
        load: F,
        errors: H,
    ) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
        H: LoadErrors<E>,
    {
        LoadLoop::new(self, Alone, key, function, errors)
            .run(load)
            .await
    }
}
