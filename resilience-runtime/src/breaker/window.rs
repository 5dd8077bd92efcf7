//! The sliding window: outcome counters striped across shards and split into
//! time buckets, so that the success path of one thread never writes a cache
//! line another thread writes.
//!
//! Each shard holds `BUCKETS` buckets per outcome. A bucket is one `AtomicU64`:
//! the bucket's *epoch tag* in the high 32 bits and its count in the low 32.
//! A bucket last used for an older epoch is started over by the write that
//! counts the call, so no bucket is ever cleared eagerly and a count can
//! never land in a bucket of the wrong epoch.
//!
//! Every live thread holds a *slot*, a small number no other live thread
//! holds (a thread's slot is freed when it exits and handed out again). The
//! threads of the first slots each own a shard of every window: a shard with
//! one writer is updated by a plain load and store, no locked instruction.
//! Threads past them (more live threads than owned shards) share a few
//! overflow shards, updated by compare-and-swap. Reading the window (on a failure, or for
//! `counts()`) sums the buckets of every shard whose tag lies within the last
//! `BUCKETS` epochs.
//!
//! Clearing the window (when the breaker closes) costs nothing either: the
//! breaker's generation is part of the tag (`epoch + generation × BUCKETS`),
//! so a new generation's tags start `BUCKETS` epochs past every tag of the
//! old one, and all old buckets fall out of the window at once. A call
//! acquired before the window was cleared and recorded after it carries the
//! old generation and lands outside the new window.

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use super::WindowCounts;

/// Buckets per window: a call stops counting between 0.9 × and 1 × the
/// window after it was recorded.
pub(super) const BUCKETS: u64 = 10;
const SLOTS: usize = BUCKETS as usize;

/// One thread's counters. 128-byte aligned so that two shards never share a
/// cache line, nor a pair of lines fetched together by the spatial
/// prefetcher.
#[repr(align(128))]
struct Shard {
    successes: [AtomicU64; SLOTS],
    failures: [AtomicU64; SLOTS],
    /// The bucket (time since the origin in bucket lengths, before the
    /// generation offset) of the last call recorded here: checking that the
    /// next call falls in the same one is a multiplication, where finding
    /// its bucket afresh is a 64-bit division.
    last_bucket: AtomicU64,
}

impl Shard {
    fn new() -> Self {
        Self {
            successes: std::array::from_fn(|_| AtomicU64::new(0)),
            failures: std::array::from_fn(|_| AtomicU64::new(0)),
            last_bucket: AtomicU64::new(0),
        }
    }

    /// `elapsed_nanos / bucket_nanos`, usually without dividing.
    #[inline]
    fn bucket_of(&self, elapsed_nanos: u64, bucket_nanos: u64) -> u64 {
        let last = self.last_bucket.load(Relaxed);
        // `last * bucket_nanos` cannot overflow: it is at most an earlier
        // `elapsed_nanos`. An instant before it wraps to a huge offset.
        if elapsed_nanos.wrapping_sub(last * bucket_nanos) < bucket_nanos {
            return last;
        }
        let bucket = elapsed_nanos / bucket_nanos;
        self.last_bucket.store(bucket, Relaxed);
        bucket
    }
}

/// Where a call lands: the bucket slot and the epoch tag it must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Epoch {
    tag: u32,
    slot: usize,
}

impl Epoch {
    /// The epoch's tag: equal tags, equal epochs (within 2³² buckets).
    #[inline]
    pub(super) fn tag(self) -> u32 {
        self.tag
    }

    #[inline]
    fn new(bucket: u64, generation: u64) -> Self {
        let epoch = bucket.wrapping_add(generation.wrapping_mul(BUCKETS));
        Epoch {
            // Truncated: tags are compared by wrapping distance, and only
            // distances below `BUCKETS` matter.
            tag: epoch as u32,
            slot: (epoch % BUCKETS) as usize,
        }
    }
}

/// Shards shared by the threads whose slot owns none.
const OVERFLOW_SHARDS: usize = 2;

/// Striped, bucketed outcome counters of one breaker.
pub(super) struct Window {
    /// The owned shards, one per slot below `owned`, then the overflow ones.
    shards: Box<[Shard]>,
    owned: usize,
    bucket_nanos: u64,
}

impl Window {
    /// A shard per thread slot (below [`shard_count`]) and the overflow
    /// ones: a breaker of a name alone.
    pub(super) fn new(window: Duration) -> Self {
        Self::with_shards(window, shard_count(), OVERFLOW_SHARDS)
    }

    /// One shard, shared by every thread (updated by compare-and-swap): a
    /// keyed breaker's, 256 bytes where [`new`](Self::new)'s are
    /// `(shard_count() + 2) × 256`.
    pub(super) fn compact(window: Duration) -> Self {
        Self::with_shards(window, 0, 1)
    }

    fn with_shards(window: Duration, owned: usize, overflow: usize) -> Self {
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Self {
            shards: (0..owned + overflow).map(|_| Shard::new()).collect(),
            owned,
            bucket_nanos: (window_nanos / BUCKETS).max(1),
        }
    }

    /// The epoch of a moment `elapsed_nanos` after the breaker's origin,
    /// within window generation `generation`.
    pub(super) fn epoch(&self, elapsed_nanos: u64, generation: u64) -> Epoch {
        Epoch::new(elapsed_nanos / self.bucket_nanos, generation)
    }

    /// Counts one call that ended `elapsed_nanos` after the breaker's origin,
    /// in window generation `generation`, in the calling thread's shard.
    /// Returns the call's epoch.
    #[inline]
    pub(super) fn record(&self, elapsed_nanos: u64, generation: u64, failed: bool) -> Epoch {
        let slot = thread_slot();
        let owner = slot < self.owned;
        let shard = if owner {
            &self.shards[slot]
        } else {
            // One overflow shard only in a compact window.
            &self.shards[(self.owned + slot % OVERFLOW_SHARDS).min(self.shards.len() - 1)]
        };
        let epoch = Epoch::new(
            shard.bucket_of(elapsed_nanos, self.bucket_nanos),
            generation,
        );
        let buckets = if failed {
            &shard.failures
        } else {
            &shard.successes
        };
        let bucket = &buckets[epoch.slot];
        if owner {
            // The one writer of this shard: no other write can come between.
            let current = bucket.load(Relaxed);
            if let Some(next) = bumped(current, epoch.tag) {
                bucket.store(next, Relaxed);
            }
        } else {
            bump_shared(bucket, epoch.tag);
        }
        epoch
    }

    /// Sums the buckets of every shard that lie within the window ending at
    /// `epoch`.
    pub(super) fn counts(&self, epoch: Epoch) -> WindowCounts {
        let mut counts = WindowCounts::default();
        for shard in &*self.shards {
            counts.successes += sum_in_window(&shard.successes, epoch.tag);
            counts.failures += sum_in_window(&shard.failures, epoch.tag);
        }
        counts
    }
}

const COUNT_MASK: u64 = u32::MAX as u64;

/// A bucket holding `current` with one call of epoch `tag` added: started
/// over when it holds an older epoch; `None` when it is to stay as it is.
#[inline]
fn bumped(current: u64, tag: u32) -> Option<u64> {
    let current_tag = (current >> 32) as u32;
    if current_tag == tag {
        // At 4 billion calls in one bucket of one shard, it saturates.
        (current & COUNT_MASK != COUNT_MASK).then_some(current + 1)
    } else if current & COUNT_MASK == 0 || (tag.wrapping_sub(current_tag) as i32) > 0 {
        // Never used yet, or used for an older epoch: start it over.
        Some((u64::from(tag) << 32) | 1)
    } else {
        // The bucket already holds a later epoch: this call is older than
        // the whole window that bucket belongs to.
        None
    }
}

/// [`bumped`] on a bucket that several threads write.
fn bump_shared(bucket: &AtomicU64, tag: u32) {
    let mut current = bucket.load(Relaxed);
    while let Some(next) = bumped(current, tag) {
        match bucket.compare_exchange_weak(current, next, Relaxed, Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

fn sum_in_window(buckets: &[AtomicU64; SLOTS], tag: u32) -> u64 {
    buckets
        .iter()
        .map(|bucket| bucket.load(Relaxed))
        .filter(|word| tag.wrapping_sub((word >> 32) as u32) < BUCKETS as u32)
        .map(|word| word & COUNT_MASK)
        .sum()
}

/// Owned shards per breaker: about four per CPU (8 to 64), so that every
/// thread of a busy process usually owns one.
pub(super) fn shard_count() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        cpus.saturating_mul(4).clamp(8, 64)
    })
}

/// The slot of a thread that has none yet, or has given its slot back (a
/// thread-local destructor recording a call): an overflow shard's.
const NO_SLOT: usize = usize::MAX;

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(NO_SLOT) };
    /// Gives the slot back when the thread exits.
    static RELEASE: Release = const { Release };
}

/// Slots given back by exited threads, handed out again lowest first.
static FREE_SLOTS: Mutex<BinaryHeap<Reverse<usize>>> = Mutex::new(BinaryHeap::new());
/// The next slot never handed out.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// This thread's slot: no other live thread holds the same.
#[inline]
pub(super) fn thread_slot() -> usize {
    match SLOT.try_with(Cell::get) {
        Ok(NO_SLOT) => assign_slot(),
        Ok(slot) => slot,
        Err(_) => NO_SLOT,
    }
}

#[cold]
fn assign_slot() -> usize {
    // Registered first: a slot is only taken by a thread that will give it
    // back. Fails while the thread's locals are being destroyed.
    if RELEASE.try_with(|_| ()).is_err() {
        return NO_SLOT;
    }
    let reused = FREE_SLOTS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop();
    // Never NO_SLOT itself: that many threads cannot be alive at once.
    let slot = reused.map_or_else(|| NEXT_SLOT.fetch_add(1, Relaxed), |Reverse(slot)| slot);
    SLOT.set(slot);
    slot
}

struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let Ok(slot) = SLOT.try_with(|slot| slot.replace(NO_SLOT)) else {
            return;
        };
        if slot != NO_SLOT {
            // Its breakers' call counts, before the slot goes to another thread.
            super::tally::thread_exits(slot);
            // Through the lock: the next holder sees every write of this one.
            FREE_SLOTS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(Reverse(slot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn window() -> Window {
        Window::new(Duration::from_secs(10))
    }

    #[test]
    fn counts_calls_of_the_last_ten_buckets_only() {
        let window = window();
        window.record(0, 0, false);
        window.record(SECOND / 2, 0, true);
        window.record(9 * SECOND, 0, false);
        assert_eq!(
            window.counts(window.epoch(9 * SECOND, 0)),
            WindowCounts {
                successes: 2,
                failures: 1
            }
        );
        // At 10 s the bucket [0, 1 s) has left the window.
        assert_eq!(
            window.counts(window.epoch(10 * SECOND, 0)),
            WindowCounts {
                successes: 1,
                failures: 0
            }
        );
        assert_eq!(
            window.counts(window.epoch(19 * SECOND, 0)),
            WindowCounts::default()
        );
    }

    #[test]
    fn a_reused_bucket_starts_over() {
        let window = window();
        for _ in 0..5 {
            window.record(SECOND, 0, true);
        }
        // Same slot, ten buckets later.
        window.record(11 * SECOND, 0, true);
        assert_eq!(window.counts(window.epoch(11 * SECOND, 0)).failures, 1);
    }

    #[test]
    fn a_new_generation_starts_empty_and_ignores_the_old_one() {
        let window = window();
        window.record(SECOND, 0, true);
        assert_eq!(
            window.counts(window.epoch(SECOND, 1)),
            WindowCounts::default()
        );
        window.record(SECOND, 1, false);
        // A late call of generation 0 neither shows nor erases generation 1.
        window.record(2 * SECOND, 0, true);
        assert_eq!(
            window.counts(window.epoch(2 * SECOND, 1)),
            WindowCounts {
                successes: 1,
                failures: 0
            }
        );
    }

    #[test]
    fn an_older_call_never_erases_a_newer_bucket() {
        let window = window();
        window.record(12 * SECOND, 0, false);
        window.record(2 * SECOND, 0, false); // same slot, older
        assert_eq!(window.counts(window.epoch(12 * SECOND, 0)).successes, 1);
    }

    #[test]
    fn tags_survive_wrapping() {
        let window = window();
        let late = (u64::from(u32::MAX) - 3) * SECOND;
        window.record(late, 0, true);
        window.record(late + 6 * SECOND, 0, true);
        assert_eq!(
            window.counts(window.epoch(late + 6 * SECOND, 0)).failures,
            2
        );
    }

    #[test]
    fn more_threads_than_owned_shards_lose_nothing() {
        let window = window();
        let epoch = window.epoch(0, 0);
        let threads = shard_count() + 3 * OVERFLOW_SHARDS + 1;
        let started = std::sync::Barrier::new(threads);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                // All alive at once: some slots own no shard.
                scope.spawn(|| {
                    started.wait();
                    (0..2_000).for_each(|i| _ = window.record(0, 0, i % 4 == 0));
                });
            }
        });
        let calls = 2_000 * threads as u64;
        assert_eq!(
            window.counts(epoch),
            WindowCounts {
                successes: calls * 3 / 4,
                failures: calls / 4
            }
        );
    }

    #[test]
    fn slots_are_unique_among_live_threads() {
        let all_alive = std::sync::Barrier::new(16);
        let mut slots: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    scope.spawn(|| {
                        let slot = thread_slot();
                        all_alive.wait();
                        slot
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 16);
    }

    #[test]
    fn threads_count_into_their_own_shards_and_lose_nothing() {
        let window = window();
        let epoch = window.epoch(0, 0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..10_000).for_each(|i| _ = window.record(0, 0, i % 10 == 0)));
            }
        });
        assert_eq!(
            window.counts(epoch),
            WindowCounts {
                successes: 36_000,
                failures: 4_000
            }
        );
    }
}
