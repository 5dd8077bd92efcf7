//! Where the cache keeps its values: the only copy of each, with its stamp,
//! read by a fresh hit without a lock.
//!
//! moka's `get` records every read for its eviction policy, which costs
//! more than a whole hit of a plain hash map and does not scale across
//! threads. So a hit reads this [`papaya::HashMap`] instead, whose reads
//! take no lock and write no memory another thread reads.
//!
//! moka decides what is kept, but holds only each key's load id (and
//! weight). A value is put here, then its id in moka, under the cache's
//! write lock; whenever moka lets an id go (evicted, expired, replaced,
//! turned away), its eviction listener takes that same load out of the
//! index, recognised by its [`Stored::id`], so a newer value put under the
//! key meanwhile stays. The index holds what moka holds, plus the one
//! being put.
//!
//! # Memory: `capacity`, plus a few values per thread
//!
//! A value taken out of a lock-free map cannot be freed while a reader on
//! another thread may still clone it. papaya's reclaimer (`seize`) frees
//! removed values in batches of 32 per thread by default, which kept
//! dozens of replaced values alive; this index reclaims in batches of one:
//! a removed value is freed once no thread is inside a read of the map, or
//! by the last reader to leave, so a thread holds at most one per reader
//! until its next removal (the test
//! `values_alive_are_bounded_by_capacity_while_the_threads_live`). A
//! removal costs a process-wide memory barrier, a few microseconds: on
//! loads and evictions, never on a hit.

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
