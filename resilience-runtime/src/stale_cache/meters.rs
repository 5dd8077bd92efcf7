//! How a cache's requests were answered, counted once for two readers: the
//! metric `stale_cache_requests_total{function, outcome}` and the plain
//! counts that [`caches`](super::caches) lists (see `listing.rs`), which
//! need no metrics recorder and cost the hit path nothing more.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::listing::{self, Entries};
use super::report::Outcome;
use super::tally::Tally;
use crate::meters::{self, Counter, CounterDef};

static STALE_CACHE_REQUESTS_TOTAL: CounterDef = CounterDef::new(
    "stale_cache_requests_total",
    "Requests to each #[stale_cache], by outcome: fresh, refreshed, stale, miss, error",
);

/// A handle on a cache's counts: every handle on the cache counts into the
/// same ones.
#[derive(Clone)]
pub(super) struct CacheMeters {
    /// Where each thread counts the cache's fresh hits.
    pub(super) tally: Tally,
    counts: Arc<Counts>,
}

/// One cache's counts.
pub(super) struct Counts {
    /// The function its first request named, which lists the cache, and
    /// the handles of that function's series.
    pub(super) first: OnceLock<(&'static str, [Counter; 5])>,
    pub(super) outcomes: [AtomicU64; 5],
    pub(super) oldest_stale_ms: AtomicU64,
    pub(super) entries: Weak<dyn Entries>,
}

impl CacheMeters {
    /// No counts yet; `entries` counts the cache's entries for its listing.
    pub(super) fn new(entries: Weak<dyn Entries>) -> Self {
        let counts = Counts {
            first: OnceLock::new(),
            outcomes: Default::default(),
            oldest_stale_ms: AtomicU64::new(0),
            entries,
        };
        Self {
            tally: Tally::new(),
            counts: Arc::new(counts),
        }
    }

    /// A fresh hit: counted in this thread's batch (see `tally.rs`), so
    /// that threads hitting one cache write no memory in common.
    #[inline(always)]
    pub(super) fn fresh_hit(&self, function: &'static str) {
        self.tally.fresh_hit(self, function);
        #[cfg(test)]
        super::report::tests::record(Outcome::Fresh);
    }

    /// Any other request of `function`, answered with `outcome`.
    pub(super) fn request(&self, function: &'static str, outcome: Outcome) {
        self.count(function, outcome, 1);
        #[cfg(test)]
        super::report::tests::record(outcome);
    }

    /// A request answered with a stale value `age` old: its age also goes
    /// to the recovery scope (see [`crate::recovery`]).
    pub(super) fn stale(&self, function: &'static str, age: Duration) {
        crate::recovery::stale_served(age);
        let age_ms = crate::clock::millis(age);
        self.counts.oldest_stale_ms.fetch_max(age_ms, Relaxed);
        self.request(function, Outcome::Stale);
    }

    /// `requests` requests of `function` answered with `outcome`.
    ///
    /// After the first request: one atomic load, the count's increment, a
    /// pointer comparison and the counter's. A cache used under several
    /// function names (by hand; `#[stale_cache]` always gives one) is listed
    /// under the first and looks the others' series up by name.
    #[inline]
    pub(super) fn count(&self, function: &'static str, outcome: Outcome, requests: u64) {
        let counts = &self.counts;
        let (first, series) = counts.first.get_or_init(|| self.first(function));
        counts.outcomes[outcome as usize].fetch_add(requests, Relaxed);
        if !meters::ENABLED {
            return;
        }
        if std::ptr::eq(*first, function) || *first == function {
            series[outcome as usize].increment(requests);
        } else {
            count_by_name(function, outcome, requests);
        }
    }

    /// The first request lists the cache under its function, and
    /// registers that function's series.
    #[cold]
    fn first(&self, function: &'static str) -> (&'static str, [Counter; 5]) {
        listing::list(&self.counts);
        (
            function,
            Outcome::ALL.map(|outcome| series(function, outcome)),
        )
    }
}

#[cold]
#[inline(never)]
fn count_by_name(function: &'static str, outcome: Outcome, requests: u64) {
    series(function, outcome).increment(requests);
}

fn series(function: &'static str, outcome: Outcome) -> Counter {
    STALE_CACHE_REQUESTS_TOTAL.register(&[("function", function), ("outcome", outcome.as_str())])
}
