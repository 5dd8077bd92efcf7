//! What the cache keeps per key: the value and when it was loaded.

use std::time::Duration;

use crate::clock::{self, Instant};

/// A loaded value and when it was loaded.
///
/// Stored by value in moka, so a hit is moka's own clone of the value plus a
/// `Copy` stamp: no second `Arc`, whose reference count would be one more
/// cache line for threads reading the same key to fight over.
#[derive(Clone)]
pub(super) struct Stored<V> {
    pub(super) value: V,
    pub(super) stamp: Stamp,
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
        Self { value, stamp }
    }

    /// Whether the value is younger than `maxage` at `now`.
    #[inline]
    pub(super) fn is_fresh(&self, now: Instant) -> bool {
        now < self.stamp.fresh_until
    }
}

impl Stamp {
    /// The value's age at `now`.
    pub(super) fn age(self, now: Instant) -> Duration {
        now.saturating_duration_since(self.loaded_at)
    }

    /// The value's age at `now` in whole milliseconds, for events.
    pub(super) fn age_ms(self, now: Instant) -> u64 {
        clock::millis(self.age(now))
    }
}
