//! Fresh hits counted per thread, handed to the metrics counter in batches.
//!
//! A counter added to on each hit would be the one cache line that threads
//! hitting one cache all write. So each thread counts each cache's fresh
//! hits in a thread-local and hands them to the counter (and the cache's
//! listing) every `BATCH` hits, when it finishes a load through that cache,
//! on [`StaleCache::run_pending_tasks`](super::StaleCache::run_pending_tasks),
//! and when it exits: fewer than `BATCH` behind per thread and cache, none
//! lost. Every other outcome is counted at once.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::meters::CacheMeters;
use super::report::Outcome;

/// Fresh hits a thread keeps before adding them to the counter.
pub(in crate::stale_cache) const BATCH: u32 = 256;

/// Caches a thread keeps counts for; caches created after the first
/// `SLOTS` in the process count each hit at once.
const SLOTS: usize = 256;

/// The next cache's slot.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// Where one cache's hits are counted in each thread.
#[derive(Clone, Copy)]
pub(in crate::stale_cache) struct Tally {
    slot: usize,
}

/// One thread's uncounted hits of one cache, and where they go.
#[derive(Default)]
struct Pending {
    hits: u32,
    to: Option<(CacheMeters, &'static str)>,
}

impl Pending {
    fn flush(&mut self) {
        if let Some((meters, function)) = &self.to
            && self.hits > 0
        {
            meters.count(function, Outcome::Fresh, u64::from(self.hits));
        }
        self.hits = 0;
    }
}

impl Drop for Pending {
    /// The thread exits: its hits are counted, not lost.
    fn drop(&mut self) {
        self.flush();
    }
}

thread_local! {
    /// By slot.
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

impl Tally {
    /// A new cache's tally.
    pub(in crate::stale_cache) fn new() -> Self {
        Self {
            slot: NEXT_SLOT.fetch_add(1, Relaxed),
        }
    }

    /// One fresh hit of `function`: a thread-local increment.
    #[inline]
    pub(in crate::stale_cache) fn fresh_hit(self, meters: &CacheMeters, function: &'static str) {
        let counted = self.slot < SLOTS
            && PENDING
                .try_with(|pending| {
                    let Ok(mut pending) = pending.try_borrow_mut() else {
                        return false;
                    };
                    match pending.get_mut(self.slot) {
                        Some(Pending {
                            hits,
                            to: Some((_, to)),
                        }) if std::ptr::eq(*to, function) && *hits < BATCH - 1 => {
                            *hits += 1;
                        }
                        _ => hit_slowly(&mut pending, self.slot, meters, function),
                    }
                    true
                })
                .unwrap_or(false);
        if !counted {
            meters.count(function, Outcome::Fresh, 1);
        }
    }

    /// Adds this thread's uncounted hits to the counter now.
    pub(in crate::stale_cache) fn flush(self) {
        let _ = PENDING.try_with(|pending| {
            if let Ok(mut pending) = pending.try_borrow_mut()
                && let Some(pending) = pending.get_mut(self.slot)
            {
                pending.flush();
            }
        });
    }
}

/// Adds the calling thread's uncounted hits of every cache to the counter
/// now (`crate::flush_metrics`).
pub(crate) fn flush_thread() {
    let _ = PENDING.try_with(|pending| {
        if let Ok(mut pending) = pending.try_borrow_mut() {
            pending.iter_mut().for_each(Pending::flush);
        }
    });
}

/// The hit that fills a batch, or the first of a thread or of another
/// function name.
#[cold]
#[inline(never)]
fn hit_slowly(
    pending: &mut Vec<Pending>,
    slot: usize,
    meters: &CacheMeters,
    function: &'static str,
) {
    if pending.len() <= slot {
        pending.resize_with(slot + 1, Pending::default);
    }
    let pending = &mut pending[slot];
    let same = matches!(&pending.to, Some((_, to)) if std::ptr::eq(*to, function));
    if !same {
        pending.flush();
        pending.to = Some((meters.clone(), function));
    }
    pending.hits += 1;
    if pending.hits >= BATCH {
        pending.flush();
    }
}
