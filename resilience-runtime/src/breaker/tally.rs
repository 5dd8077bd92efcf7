//! `breaker_calls_total` counted per thread and handed to the metrics'
//! counters in batches, so that threads calling one healthy breaker do not
//! all write one shared counter — and handed over in full, whatever happens
//! to the thread or the breaker.
//!
//! A [`CallTally`] belongs to a breaker name: a breaker of a name alone has
//! its own; the breakers of every key of a keyed name share theirs. It holds
//! one shard per thread slot (`window::thread_slot`, the slots the window's
//! shards use) plus a few overflow shards, and per outcome kind two
//! numbers: `counted`, every outcome counted there, and `reported`, those
//! already added to the counter. The owner of a slot counts with a plain
//! load and store (no other thread writes `counted`); a batch is handed
//! over by moving `reported` up to `counted` with a compare-and-swap, which
//! any thread may do at any time without losing or doubling a count. So
//! the batch of a thread is handed over:
//!
//! - by the thread, every [`TALLY_LIMIT`] outcomes of a kind and whenever
//!   `events::call_outcome` asks (a failure, a fresh clock reading);
//! - by the thread as it exits ([`thread_exits`]);
//! - by any thread, for every live tally, in [`flush_all`]
//!   (`crate::flush_metrics`);
//! - when the tally itself is dropped (its breaker, or the last breaker of
//!   a keyed name, is dropped).
//!
//! An evicted key's breaker loses nothing: its calls were counted in its
//! name's tally, not in its own.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::CallOutcome;
use super::window::{shard_count, thread_slot};
use crate::meters::{self, Counter, CounterDef};

static BREAKER_CALLS_TOTAL: CounterDef = CounterDef::new(
    "breaker_calls_total",
    "Calls through each circuit breaker, by outcome: success, failure, rejected",
);

/// Kinds of outcomes, indexed by `CallOutcome as usize`.
const KINDS: usize = 3;

/// The most outcomes of one kind a thread keeps before handing them over:
/// as many as a cache's hit tally keeps, so that the hand-over, a write to
/// the recorder's shared counter, costs a thread at full speed well under a
/// nanosecond a call.
pub(super) const TALLY_LIMIT: u64 = 256;

/// Shards shared by the threads whose slot owns none.
const OVERFLOW_SHARDS: usize = 2;

/// One slot's counts. 128-byte aligned, as the window's shards are, so
/// that two slots never share a cache line.
#[repr(align(128))]
#[derive(Default)]
struct Shard {
    counted: [AtomicU64; KINDS],
    reported: [AtomicU64; KINDS],
}

impl Shard {
    /// What is counted and not yet reported, by kind, taken for reporting.
    fn take(&self) -> [u64; KINDS] {
        std::array::from_fn(|kind| {
            let reported = &self.reported[kind];
            let mut seen = reported.load(Relaxed);
            loop {
                let counted = self.counted[kind].load(Relaxed);
                let due = counted.wrapping_sub(seen);
                if due == 0 {
                    return 0;
                }
                match reported.compare_exchange_weak(seen, counted, Relaxed, Relaxed) {
                    Ok(_) => return due,
                    Err(actual) => seen = actual,
                }
            }
        })
    }
}

struct Shards {
    shards: Box<[Shard]>,
    /// Shards below this index have one writer each, the thread holding
    /// that slot.
    owned: usize,
    calls: [Counter; KINDS],
}

impl Shards {
    fn report(&self, shard: &Shard) {
        for (counter, due) in self.calls.iter().zip(shard.take()) {
            if due > 0 {
                counter.increment(due);
            }
        }
    }
}

impl Drop for Shards {
    /// The breaker is gone: what it kept is counted, not lost.
    fn drop(&mut self) {
        for shard in &*self.shards {
            self.report(shard);
        }
    }
}

/// Every live tally, for [`thread_exits`] and [`flush_all`]; dead ones are
/// pruned as new ones come.
static LIVE: Mutex<Vec<Weak<Shards>>> = Mutex::new(Vec::new());

/// The outcomes of the breakers of one name, counted per thread.
#[derive(Clone)]
pub(crate) struct CallTally(Arc<Shards>);

impl CallTally {
    /// The tally of breaker `name`, with its counters registered. Empty,
    /// and not listed, when metrics are off.
    pub(super) fn register(name: &'static str) -> Self {
        let calls = CallOutcome::ALL.map(|outcome| {
            BREAKER_CALLS_TOTAL.register(&[("breaker", name), ("outcome", outcome.as_str())])
        });
        let owned = if meters::ENABLED { shard_count() } else { 0 };
        let overflow = if meters::ENABLED { OVERFLOW_SHARDS } else { 0 };
        let shards = Arc::new(Shards {
            shards: (0..owned + overflow).map(|_| Shard::default()).collect(),
            owned,
            calls,
        });
        if meters::ENABLED {
            let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
            // Amortized: pruned when the list has doubled since the last time.
            if live.len() == live.capacity() {
                live.retain(|tally| tally.strong_count() > 0);
            }
            live.push(Arc::downgrade(&shards));
        }
        Self(shards)
    }

    /// Counts one outcome of `kind` in the calling thread's shard, and
    /// hands the shard's batch over when `hand_over` is asked or
    /// [`TALLY_LIMIT`] outcomes of `kind` are waiting.
    #[inline]
    pub(super) fn count(&self, outcome: CallOutcome, hand_over: bool) {
        let tally = &*self.0;
        let slot = thread_slot();
        let kind = outcome as usize;
        let (shard, counted) = if slot < tally.owned {
            // The one writer of `counted` here: no other write can come between.
            let shard = &tally.shards[slot];
            let counted = shard.counted[kind].load(Relaxed).wrapping_add(1);
            shard.counted[kind].store(counted, Relaxed);
            (shard, counted)
        } else {
            let Some(shard) = tally.shards.get(tally.owned + slot % OVERFLOW_SHARDS) else {
                return; // metrics are off
            };
            (
                shard,
                shard.counted[kind].fetch_add(1, Relaxed).wrapping_add(1),
            )
        };
        if hand_over || counted.wrapping_sub(shard.reported[kind].load(Relaxed)) >= TALLY_LIMIT {
            tally.report(shard);
        }
    }
}

/// The thread in `slot` exits: its batches are handed over, of every
/// breaker, before the slot goes to another thread.
pub(super) fn thread_exits(slot: usize) {
    each_live(|tally| {
        let index = if slot < tally.owned {
            slot
        } else {
            tally.owned + slot % OVERFLOW_SHARDS
        };
        if let Some(shard) = tally.shards.get(index) {
            tally.report(shard);
        }
    });
}

/// Hands every batch of every thread over, of every breaker.
pub(crate) fn flush_all() {
    each_live(|tally| {
        for shard in &*tally.shards {
            tally.report(shard);
        }
    });
}

fn each_live(mut with: impl FnMut(&Shards)) {
    if !meters::ENABLED {
        return;
    }
    // Copied first: a tally dropped in `with` (its last breaker gone
    // meanwhile) reports in its own `Drop`, without this lock.
    let live: Vec<Weak<Shards>> = LIVE.lock().unwrap_or_else(PoisonError::into_inner).clone();
    for tally in live.iter().filter_map(Weak::upgrade) {
        with(&tally);
    }
}
