//! What `#[stale_cache(...)]` builds from its keys: ages, size and refresh mode.

use std::time::Duration;

/// The longest age the cache measures: 1000 years, moka's own limit on a
/// time to live. Longer `maxage` or `tolerance` values are treated as this.
const LONGEST: Duration = Duration::from_secs(1000 * 365 * 24 * 3600);

/// Writes the builder's `const` setters: `name(value)` sets the field `name`.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $type:ty,)*) => {
        $(
            $(#[$doc])*
            pub const fn $name(mut self, $name: $type) -> Self {
                self.$name = $name;
                self
            }
        )*
    };
}

/// When an expired value that is still within tolerance gets refreshed.
///
/// Chosen with `#[stale_cache(refresh = "inline" | "background")]`.
///
/// ```
/// use resilience_runtime::stale_cache::{CacheConfig, Refresh};
/// let config = CacheConfig::new().refresh(Refresh::Background);
/// assert_eq!(config.refresh_value(), Refresh::Background);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Refresh {
    /// The caller that finds the value expired waits for the refresh, as in
    /// the Python decorator. The default.
    #[default]
    Inline,
    /// Stale-while-revalidate (RFC 5861): the expired value is returned at
    /// once and one refresh runs behind it, on the tokio runtime (async) or
    /// on a thread of its own (sync).
    Background,
}

/// How long values stay fresh, how long they may be served stale, how many
/// are kept, and how they are refreshed.
///
/// Defaults match `#[stale_cache]` with no keys: fresh for 5 s, servable
/// up to 30 s old when a refresh fails, 10 000 entries, inline refresh.
///
/// # `tolerance` is a total age
///
/// As in the Python decorator (`age <= stale_tolerance`), `tolerance` counts
/// from the moment the value was loaded, not from its expiry. RFC 5861's
/// `stale-if-error` and `stale-while-revalidate` count from expiry instead:
/// `maxage = 5 s, tolerance = 30 s` here is HTTP's
/// `max-age=5, stale-if-error=25`. The same total age bounds the stale values
/// that [`Refresh::Background`] serves while it revalidates.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::stale_cache::{CacheConfig, Refresh};
///
/// static CONFIG: CacheConfig = CacheConfig::new()
///     .maxage(Duration::from_secs(3))
///     .tolerance(Duration::from_secs(15))
///     .capacity(1_000);
///
/// assert_eq!(CONFIG.maxage_value(), Duration::from_secs(3));
/// assert_eq!(CONFIG.tolerance_value(), Duration::from_secs(15));
/// assert_eq!(CONFIG.capacity_value(), 1_000);
/// assert_eq!(CONFIG.refresh_value(), Refresh::Inline);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    maxage: Duration,
    tolerance: Duration,
    capacity: u64,
    /// 0: no bound in bytes.
    max_bytes: u64,
    refresh: Refresh,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheConfig {
    /// The default configuration (see the type's docs).
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::CacheConfig;
    /// # use std::time::Duration;
    /// assert_eq!(CacheConfig::new().maxage_value(), Duration::from_secs(5));
    /// ```
    pub const fn new() -> Self {
        Self {
            maxage: Duration::from_secs(5),
            tolerance: Duration::from_secs(30),
            capacity: 10_000,
            max_bytes: 0,
            refresh: Refresh::Inline,
        }
    }

    setters! {
        /// Age under which a cached value is served without a call.
        /// `Duration::ZERO` makes every call load (still one load per key at a
        /// time, and still with the stale value as a fallback).
        ///
        /// A sync call outside a tokio runtime reuses its thread's reading of
        /// the clock until the coarse clock ticks, to spare a clock read per
        /// hit: it may serve a value up to one tick past `maxage` (4 ms on
        /// Linux at 250 Hz, none on macOS: each platform's tick is in [the
        /// crate docs](crate#time)). Other calls read the clock exactly.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::CacheConfig;
        /// # use std::time::Duration;
        /// let config = CacheConfig::new().maxage(Duration::from_millis(250));
        /// assert_eq!(config.maxage_value(), Duration::from_millis(250));
        /// ```
        maxage: Duration,

        /// Oldest age, counted from the load, that may still be served when a
        /// refresh fails; entries older than this are evicted. A tolerance below
        /// `maxage` is treated as `maxage` (the attribute rejects it at compile
        /// time).
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::CacheConfig;
        /// # use std::time::Duration;
        /// let config = CacheConfig::new().tolerance(Duration::from_secs(60));
        /// assert_eq!(config.tolerance_value(), Duration::from_secs(60));
        ///
        /// let below = CacheConfig::new().maxage(Duration::from_secs(9)).tolerance(Duration::from_secs(1));
        /// assert_eq!(below.tolerance_value(), Duration::from_secs(9));
        /// ```
        tolerance: Duration,

        /// Most entries kept. When it is reached, moka's TinyLFU policy decides
        /// which entries stay, by how often each key was requested; a value it
        /// turns away is still returned to its caller, just not kept.
        ///
        /// It bounds the values alive too: one copy of each value kept, plus
        /// at most one replaced value per thread that was reading the cache
        /// when it was replaced, freed by that thread's next removal.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::CacheConfig;
        /// assert_eq!(CacheConfig::new().capacity(64).capacity_value(), 64);
        /// ```
        capacity: u64,

        /// Most bytes the kept values may weigh together, as their weigher
        /// says: [`Weigh`](super::Weigh) with `#[stale_cache(max_bytes = ..)]`,
        /// the one given to [`StaleCache::with_weigher`](super::StaleCache::with_weigher),
        /// else each value's inline size. `0`: no bound in bytes (the default).
        ///
        /// `capacity` still bounds the entries: each counts at least
        /// `max_bytes / capacity`. A value heavier than `max_bytes` is returned
        /// to its caller but not kept (a warning event, once per cache).
        ///
        /// ```
        /// use resilience_runtime::stale_cache::{CacheConfig, StaleCache, Weigh};
        ///
        /// let config = CacheConfig::new().max_bytes(1_000_000);
        /// assert_eq!(config.max_bytes_value(), Some(1_000_000));
        /// let blobs: StaleCache<String, Vec<u8>> = StaleCache::with_weigher(config, Weigh::weigh);
        /// # let _ = blobs;
        /// ```
        max_bytes: u64,

        /// When an expired value is refreshed.
        ///
        /// ```
        /// # use resilience_runtime::stale_cache::{CacheConfig, Refresh};
        /// assert_eq!(CacheConfig::new().refresh_value(), Refresh::Inline);
        /// ```
        refresh: Refresh,
    }

    /// Age under which a value is fresh, at most 1000 years.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::CacheConfig;
    /// # use std::time::Duration;
    /// assert_eq!(CacheConfig::new().maxage(Duration::MAX).maxage_value().as_secs(), 1000 * 365 * 24 * 3600);
    /// ```
    pub const fn maxage_value(&self) -> Duration {
        shorter(self.maxage, LONGEST)
    }

    /// Oldest age that may be served stale: at least `maxage`, at most
    /// 1000 years.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::CacheConfig;
    /// # use std::time::Duration;
    /// assert_eq!(CacheConfig::new().tolerance_value(), Duration::from_secs(30));
    /// ```
    pub const fn tolerance_value(&self) -> Duration {
        let tolerance = shorter(self.tolerance, LONGEST);
        let maxage = self.maxage_value();
        if tolerance.as_nanos() < maxage.as_nanos() {
            maxage
        } else {
            tolerance
        }
    }

    /// Most entries kept.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::CacheConfig;
    /// assert_eq!(CacheConfig::new().capacity_value(), 10_000);
    /// ```
    pub const fn capacity_value(&self) -> u64 {
        self.capacity
    }

    /// Most bytes kept, if bounded in bytes.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::CacheConfig;
    /// assert_eq!(CacheConfig::new().max_bytes_value(), None);
    /// assert_eq!(CacheConfig::new().max_bytes(64).max_bytes_value(), Some(64));
    /// ```
    pub const fn max_bytes_value(&self) -> Option<u64> {
        if self.max_bytes == 0 {
            None
        } else {
            Some(self.max_bytes)
        }
    }

    /// When an expired value is refreshed.
    ///
    /// ```
    /// # use resilience_runtime::stale_cache::{CacheConfig, Refresh};
    /// assert_eq!(CacheConfig::new().refresh(Refresh::Background).refresh_value(), Refresh::Background);
    /// ```
    pub const fn refresh_value(&self) -> Refresh {
        self.refresh
    }
}

const fn shorter(a: Duration, b: Duration) -> Duration {
    if a.as_nanos() < b.as_nanos() { a } else { b }
}
