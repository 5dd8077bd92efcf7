//! The sliding window: outcome counters striped across shards and split into
//! time buckets, so that the success path of one thread never writes a cache
//! line another thread writes.
//!
//! Each shard holds `BUCKETS` buckets per outcome. A bucket is one `AtomicU64`:
//! the bucket's *epoch tag* in the high 32 bits and its count in the low 32.
//! Recording a call is one compare-and-swap on the recording thread's own
//! shard; a bucket last used for an older epoch is started over by that same
//! swap, so no bucket is ever cleared eagerly and a count can never land in a
//! bucket of the wrong epoch. Reading the window (on a failure, or for
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
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
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

/// Striped, bucketed outcome counters of one breaker.
pub(super) struct Window {
    shards: Box<[Shard]>,
    mask: usize,
    bucket_nanos: u64,
}

impl Window {
    pub(super) fn new(window: Duration) -> Self {
        let shards = shard_count();
        let window_nanos = u64::try_from(window.as_nanos()).unwrap_or(u64::MAX);
        Self {
            shards: (0..shards).map(|_| Shard::new()).collect(),
            mask: shards - 1,
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
        let shard = &self.shards[thread_index() & self.mask];
        let epoch = Epoch::new(
            shard.bucket_of(elapsed_nanos, self.bucket_nanos),
            generation,
        );
        let buckets = if failed {
            &shard.failures
        } else {
            &shard.successes
        };
        bump(&buckets[epoch.slot], epoch.tag);
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

/// Adds one call to a bucket, starting it over when it holds an older epoch.
#[inline]
fn bump(bucket: &AtomicU64, tag: u32) {
    let mut current = bucket.load(Relaxed);
    loop {
        let current_tag = (current >> 32) as u32;
        let next = if current_tag == tag {
            if current & COUNT_MASK == COUNT_MASK {
                return; // saturated: 4 billion calls in one bucket of one shard
            }
            current + 1
        } else if current & COUNT_MASK == 0 || (tag.wrapping_sub(current_tag) as i32) > 0 {
            // Never used yet, or used for an older epoch: start it over.
            (u64::from(tag) << 32) | 1
        } else {
            // The bucket already holds a later epoch: this call is older than
            // the whole window that bucket belongs to.
            return;
        };
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

/// Shards per breaker: a power of two, at least 8 and about four per CPU
/// (capped at 64), so that a few busy threads rarely share one.
fn shard_count() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        cpus.saturating_mul(4).next_power_of_two().clamp(8, 64)
    })
}

/// This thread's index, handed out round-robin on first use: consecutive
/// threads get different shards.
#[inline]
fn thread_index() -> usize {
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX
        .try_with(|index| match index.get() {
            usize::MAX => assign_thread_index(index),
            assigned => assigned,
        })
        .unwrap_or(0) // a thread-local destructor recording a call
}

#[cold]
fn assign_thread_index(index: &Cell<usize>) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let assigned = NEXT.fetch_add(1, Relaxed) % 1024;
    index.set(assigned);
    assigned
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
