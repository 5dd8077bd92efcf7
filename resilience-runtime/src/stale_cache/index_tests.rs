//! The read-side index against moka: it holds what moka holds, with real
//! threads loading, evicting and hitting at once, and never more than
//! `capacity` entries.

use std::sync::Barrier;
use std::time::Duration;

use super::{CacheConfig, StaleCache};

/// Every entry of the index is in moka, as the very load moka holds.
fn assert_index_within_store(cache: &StaleCache<u32, u64>) {
    cache.run_pending_tasks();
    let ids = cache.index.ids();
    assert!(
        ids.len() as u64 <= cache.entry_count(),
        "index {} entries, moka {}",
        ids.len(),
        cache.entry_count()
    );
    for (key, id) in ids {
        let held = cache.store.get(&key).map(|held| held.id);
        assert_eq!(held, Some(id), "key {key}: the index holds load {id}");
    }
}

#[test]
fn the_index_never_outgrows_capacity() {
    let capacity = 1_000;
    let cache: StaleCache<u32, u64> = StaleCache::new(CacheConfig::new().capacity(capacity));
    for key in 0..200_000_u32 {
        let value = cache
            .request(key, "f")
            .load_blocking(|| Ok::<_, ()>(u64::from(key)));
        assert_eq!(value, Ok(u64::from(key)));
        if key % 10_000 == 9_999 {
            cache.run_pending_tasks();
            assert!(
                cache.index.len() as u64 <= capacity,
                "{}",
                cache.index.len()
            );
        }
    }
    assert_index_within_store(&cache);
    assert_eq!(cache.entry_count(), capacity);
    assert_eq!(cache.index.len() as u64, capacity, "every entry moka kept");
    assert!(cache.flights.is_empty());
}

/// Four threads load and hit 2 000 keys through a cache of 256 entries, so
/// that moka evicts all the time while values are put and replaced.
fn four_threads_on(maxage: Duration) {
    let cache: StaleCache<u32, u64> =
        StaleCache::new(CacheConfig::new().capacity(256).maxage(maxage));
    let start = Barrier::new(4);
    std::thread::scope(|scope| {
        for thread in 0..4_u64 {
            let (cache, start) = (&cache, &start);
            scope.spawn(move || {
                let mut rng = fastrand::Rng::with_seed(thread);
                start.wait();
                for _ in 0..20_000 {
                    let key = rng.u32(0..2_000);
                    let loaded = u64::from(key) * 10 + thread;
                    let value = cache
                        .request(key, "f")
                        .load_blocking(|| Ok::<_, ()>(loaded));
                    assert_eq!(value.map(|value| value / 10), Ok(u64::from(key)));
                }
            });
        }
    });
    assert_index_within_store(&cache);
    assert!(cache.index.len() <= 256);
}

#[test]
fn with_threads_loading_at_once_the_index_holds_what_moka_holds() {
    four_threads_on(Duration::ZERO);
}

#[test]
fn with_threads_hitting_and_evicting_at_once_the_index_holds_what_moka_holds() {
    four_threads_on(Duration::from_secs(3600));
}

#[test]
fn a_replaced_value_replaces_the_indexed_one() {
    let cache: StaleCache<u32, u64> = StaleCache::new(CacheConfig::new().maxage(Duration::ZERO));
    for value in 0..10 {
        let loaded = cache.request(1, "f").load_blocking(|| Ok::<_, ()>(value));
        assert_eq!(loaded, Ok(value));
    }
    assert_index_within_store(&cache);
    assert_eq!(cache.index.len(), 1);
}
