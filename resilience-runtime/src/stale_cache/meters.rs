//! A cache's metric, `stale_cache_requests_total{function, outcome}`, and
//! its counts for [`caches`](super::caches) (see `listing.rs`).

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use super::Outcome;
use super::listing::{Entries, Listing};
use crate::meters::{self, Counter, CounterDef};

static STALE_CACHE_REQUESTS_TOTAL: CounterDef = CounterDef::new(
    "stale_cache_requests_total",
    "Requests to each #[stale_cache], by outcome: fresh, refreshed, stale, miss, error",
);

/// A cache's handles, registered on its first request under the function
/// name that request gives, and its listing.
#[derive(Clone)]
pub(crate) struct CacheMeters {
    registered: OnceLock<(&'static str, [Counter; 5])>,
    listing: Arc<Listing>,
}

impl CacheMeters {
    /// No handles yet; `entries` counts the cache's entries for its listing.
    pub(crate) fn new(entries: Weak<dyn Entries>) -> Self {
        Self {
            registered: OnceLock::new(),
            listing: Listing::new(entries),
        }
    }

    /// A value `age` old was served stale.
    pub(crate) fn served_stale(&self, age: Duration) {
        self.listing.served_stale(age);
    }

    /// One request of `function` was answered with `outcome`.
    ///
    /// After the first request: one atomic load, a pointer comparison and
    /// the increment. A cache used under several function names (by hand;
    /// `#[stale_cache]` always gives one) looks the others up by name.
    #[inline]
    pub(crate) fn count(&self, function: &'static str, outcome: Outcome) {
        self.count_many(function, outcome, 1);
    }

    /// `requests` requests of `function` were answered with `outcome` (a
    /// batch of fresh hits counted per thread: see `tally`).
    #[inline]
    pub(crate) fn count_many(&self, function: &'static str, outcome: Outcome, requests: u64) {
        self.listing.count(function, outcome, requests);
        if !meters::ENABLED {
            return;
        }
        let (name, counters) = self
            .registered
            .get_or_init(|| (function, register(function)));
        if std::ptr::eq(*name, function) || *name == function {
            counters[outcome as usize].increment(requests);
        } else {
            count_by_name(function, outcome, requests);
        }
    }
}

#[cold]
fn register(function: &'static str) -> [Counter; 5] {
    Outcome::ALL.map(|outcome| series(function, outcome))
}

#[cold]
#[inline(never)]
fn count_by_name(function: &'static str, outcome: Outcome, requests: u64) {
    series(function, outcome).increment(requests);
}

fn series(function: &'static str, outcome: Outcome) -> Counter {
    STALE_CACHE_REQUESTS_TOTAL.register(&[("function", function), ("outcome", outcome.as_str())])
}
