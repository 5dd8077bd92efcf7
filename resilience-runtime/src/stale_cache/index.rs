//! Where the cache keeps its values: every stored value and its stamp,
//! by key, read by a fresh hit without a lock; the only copy of each value.
//!
//! moka's `get` records every read for its eviction policy (a shared queue
//! and the entry's access time), which costs more than a whole hit of a
//! plain hash map and does not scale across threads. So a hit reads this
//! index instead: a [`papaya::HashMap`], whose reads take no lock and write
//! no memory another thread reads, hashed once with foldhash.
//!
//! moka decides what is kept, but holds no value: only each key's load id
//! (and its weight, with `max_bytes`). Every value is put here and then
//! its id in moka, under the cache's write lock, so the two agree on the
//! load each key holds; whenever moka lets an id go (evicted for size,
//! expired, replaced, turned away), its eviction listener takes the entry
//! of that same load out of the index, recognised by its [`Stored::id`],
//! so that a newer value put under the same key meanwhile stays. The
//! index so holds exactly the entries moka holds, plus the one being put.
//!
//! # Memory: `capacity`, plus a few values per thread
//!
//! A value taken out of a lock-free map cannot be freed at once: a reader
//! on another thread may still be cloning it. papaya hands it to its
//! reclaimer (`seize`), which by default frees removed values in batches of
//! 32 per thread; a cache refreshed from a few threads then kept dozens of
//! replaced values alive. This index reclaims in batches of one: a removed
//! value is freed as soon as no thread is inside a read of the map, and
//! otherwise by the last reader to leave. A thread keeps a removed value
//! only while it cannot yet pass the threads reading at that instant, at
//! most one per such reader, until its next removal. Values alive are so
//! at most `capacity`, plus the few being put, plus at most one per thread
//! reading at the last removal of each thread (the test
//! `values_alive_are_bounded_by_capacity_while_the_threads_live`). A
//! removal then costs a memory barrier across the process (a few
//! microseconds): removals happen on loads and evictions, never on a hit.

use std::hash::Hash;

use foldhash::fast::RandomState;

use super::stored::{Stamp, Stored};

/// Every value the cache keeps, by key, readable without a lock.
pub(super) struct Index<K, V> {
    map: papaya::HashMap<K, Stored<V>, RandomState>,
}

impl<K, V> Index<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// An empty index, reclaiming removed values one at a time.
    pub(super) fn new() -> Self {
        Self {
            map: papaya::HashMap::builder()
                .hasher(RandomState::default())
                .collector(seize::Collector::new().batch_size(1))
                .build(),
        }
    }

    /// The value of `key` if `is_fresh` judges its stamp fresh, read in
    /// place and cloned; else what is held (expired, or too old) if
    /// anything. The stamp is judged only when the key is found, so a miss
    /// costs no clock read.
    #[inline]
    pub(super) fn lookup(
        &self,
        key: &K,
        is_fresh: impl FnOnce(Stamp) -> bool,
    ) -> Result<V, Option<Stored<V>>> {
        let map = self.map.pin();
        match map.get(key) {
            Some(stored) if is_fresh(stored.stamp) => Ok(stored.value.clone()),
            held => Err(held.cloned()),
        }
    }

    /// What is held under `key`, fresh or not.
    pub(super) fn get(&self, key: &K) -> Option<Stored<V>> {
        self.map.pin().get(key).cloned()
    }

    /// Puts `stored` under `key`, before moka gets its id (see the module
    /// docs).
    pub(super) fn put(&self, key: K, stored: Stored<V>) {
        self.map.pin().insert(key, stored);
    }

    /// Takes out the entry moka let go, unless a newer one replaced it here.
    pub(super) fn forget(&self, key: &K, id: u64) {
        let _ = self.map.pin().remove_if(key, |_, stored| stored.id == id);
    }

    /// Entries held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// Every key held, with the id of the load held under it.
    #[cfg(test)]
    pub(super) fn ids(&self) -> Vec<(K, u64)>
    where
        K: Clone,
    {
        let map = self.map.pin();
        map.iter()
            .map(|(key, stored)| (key.clone(), stored.id))
            .collect()
    }
}

impl<K, V> super::listing::Entries for Index<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn entries(&self) -> u64 {
        self.map.len() as u64
    }
}
