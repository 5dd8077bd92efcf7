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

/// Writes forwarders, each with its docs and note, the signature of its
/// kind (`load`, `revalidate`, each async or `blocking`, after an optional
/// fleet), and one body: the request with `describe`, the steps given,
/// then the load.
macro_rules! forwarders {
    ($($(#[$attr:meta])* $kind:ident $name:ident($($fleet:ident)?) $(.$step:ident($($arg:ident)?))*;)*) => {
        $(forwarders!(@$kind [$(#[$attr])*] $name ($($fleet)?) [$(.$step($($arg)?))*]);)*
    };
    (@load [$($attr:tt)*] $name:ident ($($fleet:ident)?) [$($steps:tt)*]) => {
        $($attr)*
        pub async fn $name<E, F, D>(&self, $($fleet: &Fleet,)? key: K, function: &'static str, load: F, describe: D) -> Result<V, E>
        where
            F: Future<Output = Result<V, E>>,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
        {
            self.request(key, function).describe(describe)$($steps)*.load(load).await
        }
    };
    (@revalidate [$($attr:tt)*] $name:ident () [$($steps:tt)*]) => {
        $($attr)*
        pub async fn $name<E, F, D>(&self, key: K, function: &'static str, load: F, describe: D) -> Result<V, E>
        where
            E: 'static,
            F: Future<Output = Result<V, E>> + Send + 'static,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
        {
            self.request(key, function).describe(describe).revalidate()$($steps)*.load(load).await
        }
    };
    (@blocking [$($attr:tt)*] $name:ident ($($fleet:ident)?) [$($steps:tt)*]) => {
        $($attr)*
        pub fn $name<E, D>(&self, $($fleet: &Fleet,)? key: K, function: &'static str, load: impl FnOnce() -> Result<V, E>, describe: D) -> Result<V, E>
        where
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
        {
            self.request(key, function).describe(describe)$($steps)*.load_blocking(load)
        }
    };
    (@revalidate_blocking [$($attr:tt)*] $name:ident () [$($steps:tt)*]) => {
        $($attr)*
        pub fn $name<E, L, D>(&self, key: K, function: &'static str, load: L, describe: D) -> Result<V, E>
        where
            E: 'static,
            L: FnOnce() -> Result<V, E> + Send + 'static,
            D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result + Send + 'static,
        {
            self.request(key, function).describe(describe).revalidate()$($steps)*.load_blocking(load)
        }
    };
}

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    forwarders! {
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
        load get_or_load();

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
        #[deprecated(note = "use `cache.request(key, function).describe(describe).revalidate().load(load).await`")]
        revalidate get_or_revalidate();

        /// Deprecated: the request API says the same.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
        /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request("k", "doc").describe(|_: &(), f| f.write_str("down")).load_blocking(|| Ok::<_, ()>(1));
        /// # assert_eq!(value, Ok(1));
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).load_blocking(load)`")]
        blocking get_or_load_blocking();

        /// Deprecated: the request API says the same.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
        /// # let cache: StaleCache<&str, u32> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request("k", "doc").revalidate().load_blocking(|| Ok::<_, ()>(1));
        /// # assert_eq!(value, Ok(1));
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).revalidate().load_blocking(load)`")]
        revalidate_blocking get_or_revalidate_blocking();
    }
}

#[cfg(feature = "redis")]
impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + Serialize + 'static,
    V: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
{
    forwarders! {
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
        #[deprecated(note = "use `cache.request(key, function).describe(describe).shared().load(load).await`")]
        load get_or_load_shared().shared();

        /// Deprecated: the request API says the same, `.on(fleet)`.
        ///
        /// ```no_run
        /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
        /// # async fn run(fleet: &Fleet) {
        /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request("k".into(), "doc").on(fleet).load(async { Ok::<_, ()>(7) }).await;
        /// # }
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).on(fleet).load(load).await`")]
        load get_or_load_on(fleet).on(fleet);

        /// Deprecated: the request API says the same, `.shared()`.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
        /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request("k".into(), "doc").shared().load_blocking(|| Ok::<_, ()>(7));
        /// # assert_eq!(value, Ok(7));
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).shared().load_blocking(load)`")]
        blocking get_or_load_shared_blocking().shared();

        /// Deprecated: the request API says the same, `.on(fleet)`.
        ///
        /// ```no_run
        /// # use resilience_runtime::{fleet::Fleet, stale_cache::{CacheConfig, StaleCache}};
        /// # fn run(fleet: &Fleet) {
        /// # let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request("k".into(), "doc").on(fleet).load_blocking(|| Ok::<_, ()>(7));
        /// # }
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).on(fleet).load_blocking(load)`")]
        blocking get_or_load_on_blocking(fleet).on(fleet);

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
        #[deprecated(note = "use `cache.request(key, function).describe(describe).revalidate().shared().load(load).await`")]
        revalidate get_or_revalidate_shared().shared();

        /// Deprecated: the request API says the same, `.revalidate().shared()`.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
        /// # let cache: StaleCache<u8, u64> = StaleCache::new(CacheConfig::new());
        /// let value = cache.request(1, "doc").revalidate().shared().load_blocking(|| Ok::<_, ()>(7));
        /// # assert_eq!(value, Ok(7));
        /// ```
        #[deprecated(note = "use `cache.request(key, function).describe(describe).revalidate().shared().load_blocking(load)`")]
        revalidate_blocking get_or_revalidate_shared_blocking().shared();
    }
}
