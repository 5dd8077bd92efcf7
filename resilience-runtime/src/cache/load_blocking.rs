//! The sync methods: wait for a shared load by blocking the thread; refresh
//! in the background on a thread of its own.

use std::fmt;
use std::hash::Hash;

use super::config::Refresh;
use super::stale_cache::{Revalidation, StaleCache, Step};

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The value for `key`: cached while fresh, else loaded by calling
    /// `load`, refreshing inline whatever the configured [`Refresh`].
    ///
    /// The sync twin of [`get_or_load`](Self::get_or_load), with the same
    /// rules; callers of a key being loaded block until the load lands.
    /// Do not mix it with the async methods on one cache from a
    /// single-threaded runtime: a blocked thread cannot drive the task it
    /// waits for.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::cache::{CacheConfig, StaleCache};
    ///
    /// // Expired at once: every call loads, and a failure falls back on the
    /// // last value while it is within tolerance.
    /// let cache: StaleCache<&str, u32> = StaleCache::new(
    ///     CacheConfig::new().maxage(Duration::ZERO).tolerance(Duration::from_secs(30)),
    /// );
    /// let describe = |error: &String, f: &mut std::fmt::Formatter<'_>| f.write_str(error);
    ///
    /// assert_eq!(cache.get_or_load_blocking("k", "doc", || Ok(1), describe), Ok(1));
    /// let stale = cache.get_or_load_blocking("k", "doc", || Err("down".to_string()), describe);
    /// assert_eq!(stale, Ok(1));
    /// ```
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
        if let Ok(value) = self.lookup(&key, function) {
            return Ok(value);
        }
        self.load_inline_blocking(key, function, load, describe)
    }

    /// The sync twin of [`get_or_revalidate`](Self::get_or_revalidate): with
    /// [`Refresh::Background`] configured, an expired value within
    /// `tolerance` is returned at once and one refresh runs behind it on a
    /// thread of its own. If no thread can be started, no refresh runs and
    /// the next caller tries again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::cache::{CacheConfig, Refresh, StaleCache};
    ///
    /// let cache: StaleCache<u8, &str> = StaleCache::new(
    ///     CacheConfig::new().maxage(Duration::ZERO).refresh(Refresh::Background),
    /// );
    /// let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str("down");
    ///
    /// assert_eq!(cache.get_or_revalidate_blocking(1, "doc", || Ok("old"), describe), Ok("old"));
    /// // Expired: the old value at once, the refresh on another thread.
    /// assert_eq!(cache.get_or_revalidate_blocking(1, "doc", || Ok("new"), describe), Ok("old"));
    /// ```
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
        let seen = match self.lookup(&key, function) {
            Ok(value) => return Ok(value),
            Err(seen) => seen,
        };
        if self.config.refresh_value() == Refresh::Background {
            match self.revalidate(&key, seen, function) {
                Revalidation::Served(value) => return Ok(value),
                Revalidation::Refresh(value, lead, stale) => {
                    let cache = self.share();
                    // A thread that cannot start drops the lead, which lands
                    // the flight as abandoned: nothing stays wedged.
                    let _detached = std::thread::Builder::new()
                        .name("resilience-refresh".into())
                        .spawn(move || {
                            let result = load();
                            cache.finish_in_background(
                                lead, key, stale, result, function, &describe,
                            );
                        });
                    return Ok(value);
                }
                Revalidation::Inline => {}
            }
        }
        self.load_inline_blocking(key, function, load, describe)
    }

    /// Past the hit path: board the key's flight, then load or wait.
    fn load_inline_blocking<E, D>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        describe: D,
    ) -> Result<V, E>
    where
        D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result,
    {
        let mut step = self.board(&key, function);
        loop {
            step = match step {
                Step::Served(value) => return Ok(value),
                Step::Load(lead, seen) => {
                    let result = load();
                    return self.finish(lead, key, seen, result, function, &describe);
                }
                Step::Wait(waiting) => self.landed(&key, waiting.wait_blocking(), function),
                Step::Retry => self.board(&key, function),
            }
        }
    }
}
