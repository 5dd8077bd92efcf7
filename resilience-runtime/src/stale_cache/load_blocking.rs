//! The sync methods: wait for a shared load by blocking the thread; refresh
//! in the background on one of a few shared refresher threads.

use std::fmt;
use std::hash::Hash;

use super::cache::{Revalidation, StaleCache, Step};
use super::config::Refresh;
use super::errors::{DescribeOnly, LoadErrors};
use super::refresher;

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
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
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
        self.get_or_load_blocking_with(key, function, load, DescribeOnly(describe))
    }

    /// [`get_or_load_blocking`](Self::get_or_load_blocking) with `errors`
    /// deciding how a failed load's error is described and whether its
    /// waiters share it.
    pub(crate) fn get_or_load_blocking_with<E, H: LoadErrors<E>>(
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

    /// The sync twin of [`get_or_revalidate`](Self::get_or_revalidate): with
    /// [`Refresh::Background`] configured, an expired value within
    /// `tolerance` is returned at once and one refresh runs behind it, on one
    /// of a few refresher threads shared by every cache: at most 4 refreshes
    /// run at once and up to 1 024 more wait their turn. When that queue is
    /// full (or no thread can be started) no refresh is started, and the next
    /// caller of the key tries again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::stale_cache::{CacheConfig, Refresh, StaleCache};
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
        self.get_or_revalidate_blocking_with(key, function, load, DescribeOnly(describe))
    }

    /// [`get_or_revalidate_blocking`](Self::get_or_revalidate_blocking) with
    /// `errors` deciding how a failed load's error is described and whether
    /// its waiters share it.
    pub(crate) fn get_or_revalidate_blocking_with<E, L, H>(
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
        if self.config.refresh_value() == Refresh::Background {
            match self.revalidate(&key, seen, function) {
                Revalidation::Served(value) => return Ok(value),
                Revalidation::Refresh(value, lead, stale) => {
                    let cache = self.share();
                    // A refresh not taken is dropped with its lead, which
                    // lands the flight as abandoned: nothing stays wedged.
                    let _not_taken = refresher::offer(Box::new(move || {
                        let result = load();
                        cache.finish_in_background(lead, key, stale, result, function, &errors);
                    }));
                    return Ok(value);
                }
                Revalidation::Inline => {}
            }
        }
        self.load_inline_blocking(key, function, load, errors)
    }

    /// Past the hit path: board the key's flight, then load or wait.
    pub(super) fn load_inline_blocking<E, H: LoadErrors<E>>(
        &self,
        key: K,
        function: &'static str,
        load: impl FnOnce() -> Result<V, E>,
        errors: H,
    ) -> Result<V, E> {
        let mut step = self.board(&key, function);
        loop {
            step = match step {
                Step::Served(value) => return Ok(value),
                Step::Failed(error) => return Err(error),
                Step::Load(lead, seen) => {
                    let result = load();
                    return self.finish(lead, key, seen, result, function, &errors);
                }
                Step::Wait(waiting) => {
                    self.landed(&key, waiting.wait_blocking(), function, &errors)
                }
                Step::Retry => self.board(&key, function),
            }
        }
    }
}
