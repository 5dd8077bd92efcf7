//! What the cache keeps per key: the value and when it was loaded.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock::{self, Instant};

/// A loaded value and when it was loaded.
///
/// Stored by value, in the index only (moka holds the `id`), so a hit is a
/// clone of the value plus a `Copy` stamp: no `Arc`, whose reference count
/// would be one more cache line for threads reading the same key to fight
/// over.
#[derive(Clone)]
pub(super) struct Stored<V> {
    pub(super) value: V,
    pub(super) stamp: Stamp,
    /// Which load this is, unique in the process: the index forgets an
    /// entry moka let go only if it still holds that very load.
    pub(super) id: u64,
}

/// When a value was loaded, and until when it is fresh, on the one clock.
#[derive(Clone, Copy)]
pub(super) struct Stamp {
    loaded_at: Instant,
    /// `loaded_at + maxage`, computed once, so that a hit compares one
    /// instant and does no arithmetic.
    fresh_until: Instant,
}

impl<V> Stored<V> {
    /// A value loaded now.
    pub(super) fn new(value: V, maxage: Duration) -> Self {
        Self::loaded_at(value, maxage, clock::now())
    }

    /// A value loaded at `loaded_at` (by another instance of the fleet).
    pub(super) fn loaded_at(value: V, maxage: Duration, loaded_at: Instant) -> Self {
        let stamp = Stamp {
            loaded_at,
            fresh_until: loaded_at + maxage,
        };
        // Loads are counted, not hits: one shared increment per load.
        static LOADS: AtomicU64 = AtomicU64::new(0);
        let id = LOADS.fetch_add(1, Relaxed);
        Self { value, stamp, id }
    }
}

impl Stamp {
    /// Whether the value is younger than `maxage` at `now`.
    #[inline]
    pub(super) fn is_fresh(self, now: Instant) -> bool {
        now < self.fresh_until
    }

    /// Whether the value is younger than `maxage` now, on the clock read
    /// exactly: what an async hit judges.
    #[inline]
    pub(super) fn is_fresh_now(self) -> bool {
        self.is_fresh(clock::now())
    }

    /// Whether the value is younger than `maxage` now, judged for a sync
    /// hit on this thread's tick reading of the clock
    /// ([`clock::within_tick`]): it may be served up to one coarse tick past
    /// `maxage` outside a tokio runtime, and is judged exactly inside one.
    #[inline]
    pub(super) fn is_fresh_this_tick(self) -> bool {
        self.is_fresh(clock::within_tick(self.loaded_at))
    }

    /// The value's age at `now`.
    pub(super) fn age(self, now: Instant) -> Duration {
        now.saturating_duration_since(self.loaded_at)
    }

    /// The value's age at `now` in whole milliseconds, for events.
    pub(super) fn age_ms(self, now: Instant) -> u64 {
        clock::millis(self.age(now))
    }
}
