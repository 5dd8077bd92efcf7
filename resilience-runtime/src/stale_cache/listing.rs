//! Every cache of the process, as an operator sees it: its function, its
//! entries, how its requests were answered and the oldest value it served
//! stale. What [`caches`] returns and the status page shows.
//!
//! A cache is listed from its first request (which names its function)
//! until it is dropped, with the counts of `meters.rs`.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::meters::Counts;
use super::report::Outcome;

/// What a cache's summary reads of its index.
pub(super) trait Entries: Send + Sync {
    fn entries(&self) -> u64;
}

/// The caches listed so far; a dropped cache's entry is pruned when read.
static LISTED: Mutex<Vec<Weak<Counts>>> = Mutex::new(Vec::new());

/// Lists a cache, on its first request.
pub(super) fn list(counts: &Arc<Counts>) {
    let mut listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
    listed.retain(|counts| {
        counts
            .upgrade()
            .is_some_and(|counts| counts.entries.strong_count() > 0)
    });
    listed.push(Arc::downgrade(counts));
}

impl Counts {
    fn summary(&self) -> Option<CacheSummary> {
        let count = |outcome: Outcome| self.outcomes[outcome as usize].load(Relaxed);
        Some(CacheSummary {
            function: self.first.get()?.0,
            // A dropped cache's index is gone (a thread's batch of fresh
            // hits may still hold its counts).
            entries: self.entries.upgrade()?.entries(),
            fresh: count(Outcome::Fresh),
            refreshed: count(Outcome::Refreshed),
            stale: count(Outcome::Stale),
            miss: count(Outcome::Miss),
            error: count(Outcome::Error),
            oldest_stale_served: Duration::from_millis(self.oldest_stale_ms.load(Relaxed)),
        })
    }
}

/// One cache as [`caches`] lists it: counts since it was made, never its
/// keys or values.
///
/// Fresh hits are counted per thread and handed over in batches of 256, as
/// for `stale_cache_requests_total` (see [`crate::flush_metrics`], which
/// hands over the calling thread's).
///
/// With the `tower` feature it is also a row of the status page's JSON,
/// under the same names (`oldest_stale_served` as `oldest_stale_ms`, in
/// milliseconds).
///
/// ```
/// use resilience_runtime::stale_cache::{self, CacheConfig, StaleCache};
///
/// let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
/// let _ = cache.request(1, "docs::summary").load_blocking(|| Err::<u8, _>("down"));
/// let summary = stale_cache::caches().into_iter().find(|c| c.function == "docs::summary").unwrap();
/// assert_eq!((summary.error, summary.entries), (1, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "tower", derive(serde::Serialize))]
#[non_exhaustive]
pub struct CacheSummary {
    /// The cached function, as events and metrics name it.
    pub function: &'static str,
    /// Entries held now.
    pub entries: u64,
    /// Requests answered with a fresh value, no call.
    pub fresh: u64,
    /// Requests that replaced an expired value with a successful load.
    pub refreshed: u64,
    /// Requests answered with a stale value.
    pub stale: u64,
    /// Requests that found nothing servable and loaded successfully.
    pub miss: u64,
    /// Requests whose load failed with nothing servable cached.
    pub error: u64,
    /// The age of the oldest value served stale so far.
    #[cfg_attr(
        feature = "tower",
        serde(rename = "oldest_stale_ms", serialize_with = "as_millis")
    )]
    pub oldest_stale_served: Duration,
}

#[cfg(feature = "tower")]
fn as_millis<S: serde::Serializer>(age: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(crate::clock::millis(*age))
}

/// Every cache of the process that has served a request and is alive, by
/// function name.
///
/// ```
/// use resilience_runtime::stale_cache::{self, CacheConfig, StaleCache};
///
/// let cache: StaleCache<u32, String> = StaleCache::new(CacheConfig::new());
/// let _ = cache.request(7, "docs::listed").load_blocking(|| Ok::<_, ()>("seven".into()));
/// let listed = stale_cache::caches();
/// let summary = listed.iter().find(|c| c.function == "docs::listed").unwrap();
/// assert_eq!((summary.entries, summary.miss), (1, 1));
/// ```
pub fn caches() -> Vec<CacheSummary> {
    let alive: Vec<Arc<Counts>> = {
        let listed = LISTED.lock().unwrap_or_else(PoisonError::into_inner);
        listed.iter().filter_map(Weak::upgrade).collect()
    };
    let mut caches: Vec<_> = alive.iter().filter_map(|counts| counts.summary()).collect();
    caches.sort_by_key(|summary| summary.function);
    caches
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::caches;
    use crate::stale_cache::{CacheConfig, StaleCache};

    fn listed(function: &str) -> Option<super::CacheSummary> {
        caches()
            .into_iter()
            .find(|summary| summary.function == function)
    }

    #[tokio::test(start_paused = true)]
    async fn a_cache_is_listed_with_its_outcomes_until_it_is_dropped() {
        let cache: StaleCache<u8, u8> = StaleCache::new(
            CacheConfig::new()
                .maxage(Duration::from_secs(1))
                .tolerance(Duration::from_secs(60)),
        );
        let function = "listing::tests::outcomes";
        assert!(
            listed(function).is_none(),
            "listed before its first request"
        );
        let up = || async { Ok::<u8, ()>(1) };
        cache.request(1, function).load(up()).await.unwrap();
        cache.request(1, function).load(up()).await.unwrap();
        tokio::time::advance(Duration::from_secs(7)).await;
        let down = || async { Err::<u8, ()>(()) };
        cache.request(1, function).load(down()).await.unwrap();
        cache.request(2, function).load(down()).await.unwrap_err();
        cache.run_pending_tasks(); // hands over this thread's fresh hits

        let summary = listed(function).expect("listed");
        assert_eq!(
            (
                summary.entries,
                summary.fresh,
                summary.stale,
                summary.miss,
                summary.error
            ),
            (1, 1, 1, 1, 1)
        );
        assert_eq!(summary.oldest_stale_served, Duration::from_secs(7));
        drop(cache);
        assert!(listed(function).is_none(), "still listed once dropped");
    }
}
