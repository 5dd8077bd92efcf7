//! The read side of the cache: a copy of every stored value and its stamp,
//! where a fresh hit finds it without going through moka.
//!
//! moka's `get` records every read for its eviction policy (a shared queue
//! and the entry's access time), which costs more than a whole hit of a
//! plain hash map and does not scale across threads. So a hit reads this
//! index instead: a [`papaya::HashMap`], whose reads take no lock and write
//! no memory another thread reads, hashed once with foldhash.
//!
//! moka stays the owner of what is kept. Every value is stored in moka and
//! then put here; whenever moka lets an entry go (evicted for size,
//! expired, replaced), its eviction listener takes that same entry out of
//! the index, recognised by its [`Stored::id`], so that a newer value put
//! under the same key meanwhile stays. A value moka let go before it got
//! here is taken back out by the one who put it, who checks that moka
//! still holds it (see `StaleCache::put`). The index therefore holds at
//! most the entries moka holds, plus the few being put at that instant:
//! its memory is bounded by `capacity`. Should a race ever leave a key in
//! moka but not here, its hits take the slower road through moka until its
//! next load puts it back; they are never wrong.
//!
//! The price: each value is held twice, in moka and here (so a cache of
//! `capacity` entries holds up to `2 × capacity` values); and moka's policy
//! would see loads, not hits, were a sample of the hits not read from moka
//! too (`popularity.rs`).

use std::hash::Hash;

use foldhash::fast::RandomState;

use super::stored::{Stamp, Stored};

/// Every value moka holds, by key, readable without a lock.
pub(super) struct Index<K, V> {
    map: papaya::HashMap<K, Stored<V>, RandomState>,
}

impl<K, V> Index<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// An empty index.
    pub(super) fn new() -> Self {
        Self {
            map: papaya::HashMap::with_hasher(RandomState::default()),
        }
    }

    /// The value of `key` if `is_fresh` judges its stamp fresh, read in
    /// place and cloned. The stamp is judged only when the key is found, so
    /// a miss costs no clock read.
    #[inline]
    pub(super) fn fresh(&self, key: &K, is_fresh: impl FnOnce(Stamp) -> bool) -> Option<V> {
        let map = self.map.pin();
        let stored = map.get(key)?;
        is_fresh(stored.stamp).then(|| stored.value.clone())
    }

    /// Puts `stored` under `key`, after moka stored it (see the module docs).
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

    /// Drops `key`, as a race between two loads of it may.
    #[cfg(test)]
    pub(super) fn drop_key(&self, key: &K) {
        self.map.pin().remove(key);
    }
}
