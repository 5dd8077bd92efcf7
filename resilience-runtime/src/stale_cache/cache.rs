//! The cache type and the steps its sync and async methods share: the hit
//! path, boarding a key's flight, reading how it landed, storing a load.

use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Weak};

use foldhash::fast::RandomState;
use parking_lot::Mutex;

use super::config::CacheConfig;
use super::errors::{Described, LoadErrors};
use super::flight::{Boarding, Flights, Landing, Lead, Waiting};
use super::index::Index;
use super::listing::Entries;
use super::meters::CacheMeters;
use super::popularity;
use super::report::{self, Outcome};
use super::stored::{Stamp, Stored};
use crate::clock;

/// A cache that serves fresh values without a call, refreshes expired ones,
/// and falls back on a stale value when a refresh fails.
///
/// What `#[stale_cache]` keeps for each decorated function; usable by hand
/// too. The [module docs](super) give the rules, and how values are held
/// and evicted ([`moka::sync::Cache`] decides, on the crate's one clock).
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
///
/// let cache: StaleCache<u32, String> =
///     StaleCache::new(CacheConfig::new().maxage(Duration::from_secs(60)));
/// let describe = |error: &String, f: &mut std::fmt::Formatter<'_>| f.write_str(error);
///
/// let first = cache.request(7, "doc::load").describe(describe).load_blocking(|| Ok::<_, String>("seven".into()));
/// assert_eq!(first.unwrap(), "seven");
///
/// // Fresh: served without calling the load.
/// let again = cache.request(7, "doc::load").describe(describe).load_blocking(|| Err("not called".to_string()));
/// assert_eq!(again.unwrap(), "seven");
/// ```
pub struct StaleCache<K, V> {
    /// What is kept: each key's load id and weight, under moka's policy.
    pub(super) store: moka::sync::Cache<K, Held, RandomState>,
    /// The values of the loads `store` keeps: what every lookup reads.
    pub(super) index: Arc<Index<K, V>>,
    /// Taken to put a value in the index and its id in `store`: two loads
    /// of one key land in both in the same order.
    pub(super) writes: Arc<Mutex<()>>,
    /// What a value weighs toward `max_bytes`.
    pub(super) weigher: fn(&V) -> usize,
    /// Whether a value too heavy to keep was reported: once per cache.
    pub(super) too_big_reported: Arc<AtomicBool>,
    pub(super) flights: Arc<Flights<K, V>>,
    pub(super) config: CacheConfig,
    /// How its requests were answered.
    pub(super) meters: CacheMeters,
    /// The identity of its entries in Redis, when its slot gave one, in
    /// place of the `function` a call passes (still the name in events).
    #[cfg(feature = "redis")]
    pub(super) fleet_name: Option<&'static str>,
    /// The version of its value type (`version = n`; 0: none) in Redis.
    #[cfg(feature = "redis")]
    pub(super) fleet_version: u32,
}

/// What moka holds for a key: which load the index holds for it, and what
/// that value weighs (1 when the cache is not bounded in bytes).
#[derive(Clone, Copy)]
pub(super) struct Held {
    pub(super) id: u64,
    weight: u32,
}

/// Where a request stands on its way past the hit path.
pub(super) enum Step<K: Hash + Eq, V, E> {
    /// Answered: return this value.
    Served(V),
    /// Answered: the load this request waited for failed with this error.
    Failed(E),
    /// Run the load, leading the key's flight if a `Lead` is given.
    /// The stored value, if any, is the stale fallback.
    Load(Option<Lead<K, V>>, Option<Stored<V>>),
    /// Wait for the key's flight to land.
    Wait(Waiting<V>),
}

/// What a `Refresh::Background` request does with an expired value.
pub(super) enum Revalidation<K: Hash + Eq, V> {
    /// Answered: return this value; no refresh to start.
    Served(V),
    /// Return the stale value and run the refresh this lead holds.
    Refresh(V, Lead<K, V>, Stamp),
    /// Nothing servable: load inline.
    Inline,
}

impl<K, V> StaleCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// An empty cache.
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new().capacity(100));
    /// assert_eq!(cache.entry_count(), 0);
    /// ```
    pub fn new(config: CacheConfig) -> Self {
        Self::with_weigher(config, |_| size_of::<V>())
    }

    /// An empty cache whose values weigh what `weigher` says toward
    /// [`max_bytes`](CacheConfig::max_bytes); [`Weigh::weigh`](super::Weigh)
    /// is one. Without `max_bytes` configured the weigher is not called.
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    ///
    /// let config = CacheConfig::new().max_bytes(1_000);
    /// let cache: StaleCache<u8, String> = StaleCache::with_weigher(config, |text| text.len());
    /// let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str("never");
    ///
    /// // 2 000 bytes: served, not kept (and a warning event, once).
    /// let big = cache.request(1, "doc").describe(describe).load_blocking(|| Ok("x".repeat(2_000)));
    /// assert_eq!(big.unwrap().len(), 2_000);
    /// cache.run_pending_tasks();
    /// assert_eq!(cache.entry_count(), 0);
    /// ```
    pub fn with_weigher(config: CacheConfig, weigher: fn(&V) -> usize) -> Self {
        let index: Arc<Index<K, V>> = Arc::new(Index::new());
        let forget = Arc::clone(&index);
        let builder = moka::sync::Cache::builder()
            // On moka's clock; `tolerance` is also checked on ours, so a
            // paused tokio clock ages entries too.
            .time_to_live(config.tolerance_value())
            // Whatever moka lets go, for whatever cause, leaves the index.
            .eviction_listener(move |key: Arc<K>, held: Held, _cause| {
                forget.forget(key.as_ref(), held.id);
            });
        // Hashed with foldhash, as the index is: moka's default, SipHash,
        // would make each request that reads moka dearer.
        let hasher = RandomState::default();
        let store = match config.max_bytes_value() {
            Some(max_bytes) => builder
                .max_capacity(max_bytes)
                .weigher(|_, held: &Held| held.weight)
                .build_with_hasher(hasher),
            None => builder
                .max_capacity(config.capacity_value())
                .build_with_hasher(hasher),
        };
        let meters = CacheMeters::new(Arc::downgrade(&index) as Weak<dyn Entries>);
        Self {
            store,
            index,
            writes: Arc::new(Mutex::new(())),
            weigher,
            too_big_reported: Arc::new(AtomicBool::new(false)),
            flights: Arc::new(Flights::new()),
            config,
            meters,
            #[cfg(feature = "redis")]
            fleet_name: None,
            #[cfg(feature = "redis")]
            fleet_version: 0,
        }
    }

    /// The configuration the cache was built with.
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new().capacity(3));
    /// assert_eq!(cache.config().capacity_value(), 3);
    /// ```
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Entries held, including any older than `tolerance` that moka has not
    /// evicted yet. Approximate until [`run_pending_tasks`](Self::run_pending_tasks).
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    /// let _ = cache.request(1, "doc").load_blocking(|| Ok::<_, ()>(1));
    /// cache.run_pending_tasks();
    /// assert_eq!(cache.entry_count(), 1);
    /// ```
    pub fn entry_count(&self) -> u64 {
        self.store.entry_count()
    }

    /// Runs moka's pending maintenance now: evictions, expirations, counts;
    /// and, with the `metrics` feature, adds this thread's fresh hits not yet
    /// counted to `stale_cache_requests_total` (each thread counts them in
    /// batches: see the [crate docs](crate#metrics)).
    ///
    /// ```
    /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
    /// let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new().capacity(1));
    /// for key in 0..10 {
    ///     let _ = cache.request(key, "doc").load_blocking(|| Ok::<_, ()>(key));
    /// }
    /// cache.run_pending_tasks();
    /// assert_eq!(cache.entry_count(), 1);
    /// ```
    pub fn run_pending_tasks(&self) {
        self.meters.tally.flush();
        self.store.run_pending_tasks();
    }

    /// Another handle on the same storage and flights, for a background
    /// refresh to own.
    pub(super) fn share(&self) -> Self {
        Self {
            store: self.store.clone(),
            index: Arc::clone(&self.index),
            writes: Arc::clone(&self.writes),
            weigher: self.weigher,
            too_big_reported: Arc::clone(&self.too_big_reported),
            flights: Arc::clone(&self.flights),
            config: self.config,
            meters: self.meters.clone(),
            #[cfg(feature = "redis")]
            fleet_name: self.fleet_name,
            #[cfg(feature = "redis")]
            fleet_version: self.fleet_version,
        }
    }

    /// The hit path: the value if `is_fresh` judges it fresh, else what is
    /// stored (expired, or too old) if anything. A hit reads the index: no
    /// lock, no allocation, no formatting, no write to memory another
    /// thread reads. Either way the request counts toward its key's
    /// popularity: a fresh hit with a chance of one in
    /// [`popularity::SAMPLE`], anything else at once.
    #[inline]
    pub(super) fn lookup(
        &self,
        key: &K,
        function: &'static str,
        is_fresh: impl FnOnce(Stamp) -> bool,
    ) -> Result<V, Option<Stored<V>>> {
        match self.index.lookup(key, is_fresh) {
            Ok(value) => {
                self.meters.fresh_hit(function);
                if popularity::sampled_hit() {
                    self.used(key);
                }
                Ok(value)
            }
            Err(seen) => {
                self.used(key);
                Err(seen)
            }
        }
    }

    /// Tells moka's eviction policy that `key` was requested (see
    /// `popularity.rs`).
    #[cold]
    #[inline(never)]
    fn used(&self, key: &K) {
        let _ = self.store.get(key);
    }

    /// Keeps `stored` under `key`: its value in the index, then its id in
    /// moka (see `index.rs`), weighing toward `max_bytes` its bytes, but at
    /// least `max_bytes / capacity` (so that `capacity` still bounds the
    /// entries); not a value heavier than `max_bytes` (reported once).
    pub(super) fn put(&self, key: K, stored: Stored<V>, function: &'static str) {
        let weight = match self.config.max_bytes_value() {
            None => 1,
            Some(max_bytes) => {
                let bytes = u64::try_from((self.weigher)(&stored.value)).unwrap_or(u64::MAX);
                if bytes > max_bytes {
                    if !self.too_big_reported.swap(true, Relaxed) {
                        report::too_big(function, bytes, max_bytes);
                    }
                    return;
                }
                let least = max_bytes.div_ceil(self.config.capacity_value().max(1));
                u32::try_from(bytes.max(least)).unwrap_or(u32::MAX)
            }
        };
        let held = Held {
            id: stored.id,
            weight,
        };
        let _writing = self.writes.lock();
        self.index.put(key.clone(), stored);
        self.store.insert(key, held);
    }

    /// Boards `key`'s flight.
    pub(super) fn board<E>(&self, key: &K, function: &'static str) -> Step<K, V, E> {
        match self.flights.board(key) {
            Boarding::Wait(waiting) => Step::Wait(waiting),
            Boarding::Lead(lead) => match self.look_again(key, lead, function) {
                Ok(value) => Step::Served(value),
                Err((lead, seen)) => Step::Load(Some(lead), seen),
            },
        }
    }

    /// A new leader looks once more, since a flight may have landed since
    /// the caller's lookup: a fresh value lands the flight and is served.
    #[allow(clippy::type_complexity)]
    fn look_again(
        &self,
        key: &K,
        lead: Lead<K, V>,
        function: &'static str,
    ) -> Result<V, (Lead<K, V>, Option<Stored<V>>)> {
        match self.index.get(key) {
            Some(stored) if stored.stamp.is_fresh(clock::now()) => {
                lead.land(|| Landing::Loaded(stored.value.clone(), Outcome::Fresh));
                self.meters.request(function, Outcome::Fresh);
                Ok(stored.value)
            }
            seen => Err((lead, seen)),
        }
    }

    /// What a waiter does once its flight landed. After a failed load: the
    /// stale value within tolerance, else its copy of the leader's error if
    /// `errors` shares it, else a load of its own at once (never queueing
    /// behind the others' failures).
    pub(super) fn landed<E, H: LoadErrors<E>>(
        &self,
        key: &K,
        landing: Landing<V>,
        function: &'static str,
        errors: &H,
    ) -> Step<K, V, E> {
        if let Landing::Loaded(value, outcome) = landing {
            self.meters.request(function, outcome);
            return Step::Served(value);
        }
        let now = clock::now();
        match (landing, self.index.get(key)) {
            (_, Some(stored)) if stored.stamp.is_fresh(now) => {
                self.meters.request(function, Outcome::Fresh);
                Step::Served(stored.value)
            }
            (Landing::Failed(_), Some(stored)) if self.servable(stored.stamp, now) => {
                self.meters.stale(function, stored.stamp.age(now));
                Step::Served(stored.value)
            }
            (Landing::Failed(shared), seen) => {
                match shared.and_then(|shared| errors.unshare(&shared)) {
                    Some(error) => {
                        self.meters.request(function, Outcome::Error);
                        Step::Failed(error)
                    }
                    None => Step::Load(None, seen),
                }
            }
            _ => self.board(key, function),
        }
    }

    /// Stores a load's value or falls back on the stale one, and lands the
    /// leader's flight (first thing on failure: held no longer than the load).
    pub(super) fn finish<E, H: LoadErrors<E>>(
        &self,
        lead: Option<Lead<K, V>>,
        key: K,
        seen: Option<Stored<V>>,
        result: Result<V, E>,
        function: &'static str,
        errors: &H,
    ) -> Result<V, E> {
        // A load is rare next to hits: this thread's hits are counted now.
        self.meters.tally.flush();
        match result {
            Ok(value) => {
                let outcome = self.keep(key, &value, seen.map(|seen| seen.stamp), function);
                if let Some(lead) = lead {
                    lead.land(|| Landing::Loaded(value.clone(), outcome));
                }
                self.meters.request(function, outcome);
                Ok(value)
            }
            Err(error) => {
                if let Some(lead) = lead {
                    lead.land(|| Landing::Failed(errors.share(&error)));
                }
                let now = clock::now();
                let error_text = Described(&error, errors);
                match seen {
                    Some(stale) if self.servable(stale.stamp, now) => {
                        report::stale_served(function, &error_text, stale.stamp.age_ms(now));
                        self.meters.stale(function, stale.stamp.age(now));
                        Ok(stale.value)
                    }
                    too_old => {
                        let too_old_ms = too_old.map(|stored| stored.stamp.age_ms(now));
                        report::failed(function, &error_text, too_old_ms);
                        self.meters.request(function, Outcome::Error);
                        Err(error)
                    }
                }
            }
        }
    }

    /// For `Refresh::Background`: serve `seen` at once if it is within
    /// tolerance, and hand back the lead of a refresh unless one runs.
    pub(super) fn revalidate(
        &self,
        key: &K,
        seen: Option<Stored<V>>,
        function: &'static str,
    ) -> Revalidation<K, V> {
        let now = clock::now();
        let Some(stale) = seen.filter(|seen| self.servable(seen.stamp, now)) else {
            return Revalidation::Inline;
        };
        let Boarding::Lead(lead) = self.flights.board(key) else {
            // A refresh is already running: serve the stale value, start none.
            self.meters.stale(function, stale.stamp.age(now));
            return Revalidation::Served(stale.value);
        };
        match self.look_again(key, lead, function) {
            // A refresh landed since the lookup: nothing to revalidate.
            Ok(value) => Revalidation::Served(value),
            Err((lead, _)) => {
                self.meters.stale(function, stale.stamp.age(now));
                Revalidation::Refresh(stale.value, lead, stale.stamp)
            }
        }
    }

    /// Stores a loaded value; reports a refresh when it replaced a servable
    /// one. Returns the request's outcome.
    pub(super) fn keep(
        &self,
        key: K,
        value: &V,
        previous: Option<Stamp>,
        function: &'static str,
    ) -> Outcome {
        let stored = Stored::new(value.clone(), self.config.maxage_value());
        self.put(key, stored, function);
        let now = clock::now();
        match previous {
            Some(previous) if self.servable(previous, now) => {
                report::refreshed(function, previous.age_ms(now));
                Outcome::Refreshed
            }
            _ => Outcome::Miss,
        }
    }

    /// Whether a value with this stamp may be served stale at `now`.
    fn servable(&self, stamp: Stamp, now: clock::Instant) -> bool {
        stamp.age(now) <= self.config.tolerance_value()
    }
}

impl<K, V> fmt::Debug for StaleCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaleCache")
            .field("config", &self.config)
            .field("entry_count", &self.store.entry_count())
            .finish_non_exhaustive()
    }
}
