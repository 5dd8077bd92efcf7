//! The async methods: wait for a shared load without blocking the thread;
//! refresh in the background on the tokio runtime.

use std::fmt;
use std::future::Future;
use std::hash::Hash;

use super::cache::{Revalidation, StaleCache, Step};
use super::config::Refresh;
use super::errors::{DescribeOnly, LoadErrors};

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value for `key`: cached while fresh, else loaded by `load`,
    /// refreshing inline whatever the configured [`Refresh`] (a `load` that
    /// borrows cannot outlive the call).
    ///
    /// `load` is polled only when a load is needed, and by one caller per key
    /// at a time: callers that arrive while it runs wait for its value. On
    /// failure the stale value is returned if its age is within `tolerance`,
    /// else the error. `function` names the caller in events; `describe`
    /// writes an error for the `error` field, so `E` needs no bound.
    ///
    /// The returned future is `Send` when `load` and `describe` are.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cache: StaleCache<&str, u32> =
    ///     StaleCache::new(CacheConfig::new().maxage(Duration::from_secs(5)));
    /// let describe = |error: &std::io::Error, f: &mut std::fmt::Formatter<'_>| write!(f, "{error}");
    ///
    /// let loaded = cache.get_or_load("answer", "doc", async { Ok(42) }, describe).await;
    /// assert_eq!(loaded.unwrap(), 42);
    ///
    /// // Fresh: the failing future is dropped unpolled.
    /// let fresh = cache
    ///     .get_or_load("answer", "doc", async { Err(std::io::Error::other("down")) }, describe)
    ///     .await;
    /// assert_eq!(fresh.unwrap(), 42);
    /// # }
    /// ```
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
        self.get_or_load_with(key, function, load, DescribeOnly(describe))
            .await
    }

    /// [`get_or_load`](Self::get_or_load) with `errors` deciding how a
    /// failed load's error is described and whether its waiters share it.
    pub(crate) async fn get_or_load_with<E, F, H>(
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

    /// Like [`get_or_load`](Self::get_or_load), but with
    /// [`Refresh::Background`] configured, an expired value within
    /// `tolerance` is returned at once and one refresh runs behind it,
    /// spawned on the current tokio runtime (stale-while-revalidate).
    /// Callers arriving while it runs get the stale value and start no
    /// second refresh; a refresh that fails leaves the stale value in place.
    ///
    /// A missing value, or one older than `tolerance`, is loaded inline, as
    /// is everything with [`Refresh::Inline`] configured or outside a tokio
    /// runtime.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::stale_cache::{CacheConfig, Refresh, StaleCache};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let cache: StaleCache<u8, &str> = StaleCache::new(
    ///     CacheConfig::new().maxage(Duration::from_secs(5)).refresh(Refresh::Background),
    /// );
    /// let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str("down");
    ///
    /// let _ = cache.get_or_revalidate(1, "doc", async { Ok("old") }, describe).await;
    /// tokio::time::advance(Duration::from_secs(6)).await;
    ///
    /// // Expired: the old value at once, the refresh behind it.
    /// let stale = cache.get_or_revalidate(1, "doc", async { Ok("new") }, describe).await;
    /// assert_eq!(stale.unwrap(), "old");
    /// tokio::task::yield_now().await;
    /// let fresh = cache.get_or_revalidate(1, "doc", async { Err(()) }, describe).await;
    /// assert_eq!(fresh.unwrap(), "new");
    /// # }
    /// ```
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
        self.get_or_revalidate_with(key, function, load, DescribeOnly(describe))
            .await
    }

    /// [`get_or_revalidate`](Self::get_or_revalidate) with `errors` deciding
    /// how a failed load's error is described and whether waiters share it.
    pub(crate) async fn get_or_revalidate_with<E, F, H>(
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
        if self.config.refresh_value() == Refresh::Background
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            match self.revalidate(&key, seen, function) {
                Revalidation::Served(value) => return Ok(value),
                Revalidation::Refresh(value, lead, stale) => {
                    let cache = self.share();
                    runtime.spawn(async move {
                        let result = load.await;
                        cache.finish_in_background(lead, key, stale, result, function, &errors);
                    });
                    return Ok(value);
                }
                Revalidation::Inline => {}
            }
        }
        self.load_inline(key, function, load, errors).await
    }

    /// Past the hit path: board the key's flight, then load or wait.
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
        let mut step = self.board(&key, function);
        loop {
            step = match step {
                Step::Served(value) => return Ok(value),
                Step::Failed(error) => return Err(error),
                Step::Load(lead, seen) => {
                    let result = load.await;
                    return self.finish(lead, key, seen, result, function, &errors);
                }
                Step::Wait(waiting) => self.landed(&key, waiting.wait().await, function, &errors),
                Step::Retry => self.board(&key, function),
            }
        }
    }
}
