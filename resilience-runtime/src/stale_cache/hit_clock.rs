//! "Now" for a sync hit's freshness check, without a read of the one clock
//! on every hit.
//!
//! A read of the one clock (`tokio::time::Instant::now()`, a
//! `clock_gettime`) costs 25–35 ns on a virtual machine, half of a whole
//! fresh hit. A read of the kernel's *coarse* clock (`CLOCK_MONOTONIC_COARSE`
//! on Linux, through `coarsetime`) costs a few, and it only moves once per
//! kernel tick. So each thread keeps its last reading of the one clock with
//! the coarse time it was taken at, and reuses it while the coarse clock has
//! not moved: the reading is then less than one coarse tick old.
//!
//! # The error bound
//!
//! A sync hit may serve a value up to one tick of the coarse clock past its
//! `maxage`: 4 ms on a Linux kernel at the common 250 Hz (1 ms at 1000 Hz,
//! 10 ms at 100 Hz), about 16 ms on Windows; other platforms' coarse clocks
//! move every microsecond or so, and gain nothing. Never a value past
//! `tolerance` by more than that. A value loaded after the reading was taken
//! (by another thread) is judged on a fresh reading, so `maxage = 0` still
//! means "never fresh".
//!
//! # A paused tokio clock
//!
//! Tokio's paused clock moves only by `advance()`, which no coarse clock
//! sees, and only inside a runtime. So a hit inside a tokio runtime context
//! (a task, `block_on`, `spawn_blocking`) reads the one clock exactly, as
//! async hits always do; outside one, tokio's clock *is* the real monotonic
//! clock, which the coarse clock follows.

use std::cell::Cell;

use super::stored::Stamp;
use crate::clock::{self, Instant};

/// A thread's last reading of the one clock, and the coarse time it was
/// taken at.
#[derive(Clone, Copy)]
struct Reading {
    coarse: u64,
    at: Instant,
}

thread_local! {
    static LAST: Cell<Option<Reading>> = const { Cell::new(None) };
}

/// Whether a value with `stamp` is fresh now, for a sync hit: exact inside
/// a tokio runtime, else within the bound in the [module docs](self).
#[inline]
pub(super) fn is_fresh(stamp: Stamp) -> bool {
    if in_runtime() {
        return stamp.is_fresh(clock::now());
    }
    let coarse = coarsetime::Instant::now_without_cache_update().as_ticks();
    match LAST.try_with(Cell::get) {
        Ok(Some(last)) if last.coarse == coarse && !stamp.loaded_after(last.at) => {
            stamp.is_fresh(last.at)
        }
        _ => stamp.is_fresh(reread(coarse)),
    }
}

/// Whether this thread is in a tokio runtime context, where a paused clock
/// may move without real time moving.
#[inline]
fn in_runtime() -> bool {
    // A task's id is one thread-local read; outside a task (`block_on`,
    // `spawn_blocking`) the handle tells, and is absent outside a runtime.
    tokio::task::try_id().is_some() || tokio::runtime::Handle::try_current().is_ok()
}

/// Reads the one clock and keeps the reading for the coarse time `coarse`.
#[cold]
#[inline(never)]
fn reread(coarse: u64) -> Instant {
    let at = clock::now();
    let _ = LAST.try_with(|last| last.set(Some(Reading { coarse, at })));
    at
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stale_cache::stored::Stored;

    fn stamp_loaded_at(at: Instant, maxage: Duration) -> Stamp {
        Stored::loaded_at((), maxage, at).stamp
    }

    #[test]
    fn a_value_loaded_after_the_kept_reading_is_judged_on_a_fresh_one() {
        // A reading kept this tick (dated 1 s ago, so that it would judge
        // wrongly), then a load after it with maxage 0: never fresh.
        let now = clock::now();
        let coarse = coarsetime::Instant::now_without_cache_update().as_ticks();
        LAST.set(Some(Reading {
            coarse,
            at: now - Duration::from_secs(1),
        }));
        let later = now - Duration::from_millis(1);
        assert!(!is_fresh(stamp_loaded_at(later, Duration::ZERO)));
    }

    #[test]
    fn the_kept_reading_is_used_only_within_its_coarse_tick() {
        // A reading kept for another coarse tick, far in the past: a value
        // that was fresh then is judged on a new reading, and is stale.
        let long_ago = clock::now() - Duration::from_secs(60);
        LAST.set(Some(Reading {
            coarse: 0,
            at: long_ago,
        }));
        let loaded = long_ago - Duration::from_secs(1);
        assert!(!is_fresh(stamp_loaded_at(loaded, Duration::from_secs(30))));
    }

    #[test]
    fn within_its_tick_the_kept_reading_is_what_a_hit_is_judged_by() {
        // Kept as if taken this tick, 60 s ago: a value fresh until 30 s ago
        // is judged fresh by it. This is what saves the clock read; the real
        // bound is one tick, which this test does not wait for.
        let long_ago = clock::now() - Duration::from_secs(60);
        let coarse = coarsetime::Instant::now_without_cache_update().as_ticks();
        LAST.set(Some(Reading {
            coarse,
            at: long_ago,
        }));
        let loaded = long_ago - Duration::from_secs(1);
        let fresh = is_fresh(stamp_loaded_at(loaded, Duration::from_secs(30)));
        let ticked = coarsetime::Instant::now_without_cache_update().as_ticks() != coarse;
        assert!(
            fresh || ticked,
            "judged by the kept reading unless a tick passed"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn inside_a_runtime_the_paused_clock_is_read_exactly() {
        let stamp = stamp_loaded_at(clock::now(), Duration::from_secs(5));
        assert!(is_fresh(stamp));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!is_fresh(stamp), "no coarse tick passed, yet 5 s did");
    }

    #[test]
    fn in_block_on_the_paused_clock_is_read_exactly() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let stamp = stamp_loaded_at(clock::now(), Duration::from_secs(5));
            assert!(is_fresh(stamp));
            tokio::time::advance(Duration::from_secs(6)).await;
            assert!(!is_fresh(stamp));
        });
    }
}
