//! What the cache promises about its size: the values it keeps alive are
//! bounded by `capacity` (plus a few per thread: see `index.rs`), and
//! capacity pressure from keys requested once never evicts the keys hit all
//! the time (the working set).

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use super::{CacheConfig, StaleCache};
use crate::test_events::{self, record_events};

/// Values of this type now alive, anywhere in the process.
static ALIVE: AtomicUsize = AtomicUsize::new(0);

/// A value that counts itself in [`ALIVE`] from its creation (or clone) to
/// its drop. Only the test below makes them, so the count is its own.
struct Counted;

impl Counted {
    fn new() -> Self {
        ALIVE.fetch_add(1, SeqCst);
        Self
    }
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        ALIVE.fetch_sub(1, SeqCst);
    }
}

/// Issue 25's first measurement: a cache of one entry, expired at once, four
/// threads refreshing it 20 times each and still alive when the values are
/// counted. Every value but the one kept is the caller's, and each caller
/// dropped its own: what is alive is what the cache holds. It held 60
/// (a copy in moka and one in the index, and every replaced copy parked in
/// its thread's reclamation batch until 32 more removals on that thread).
#[test]
fn values_alive_are_bounded_by_capacity_while_the_threads_live() {
    const THREADS: usize = 4;
    let cache: StaleCache<u8, Counted> = StaleCache::new(
        CacheConfig::new()
            .capacity(1)
            .maxage(std::time::Duration::ZERO),
    );
    let (start, done, counted) = (
        Barrier::new(THREADS),
        Barrier::new(THREADS + 1),
        Barrier::new(THREADS + 1),
    );
    let alive = std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let (cache, start, done, counted) = (&cache, &start, &done, &counted);
            scope.spawn(move || {
                start.wait();
                for _ in 0..20 {
                    // Each caller drops its value at once.
                    let _ = cache
                        .request(0, "f")
                        .load_blocking(|| Ok::<_, ()>(Counted::new()));
                }
                done.wait();
                counted.wait(); // alive until the values are counted
            });
        }
        done.wait();
        cache.run_pending_tasks();
        let alive = ALIVE.load(SeqCst);
        counted.wait();
        alive
    });
    // The one entry kept, and at most one value a thread parked until its
    // reclamation can pass the other threads (see `index.rs`).
    eprintln!("values alive: {alive}");
    let bound = 1 + THREADS;
    assert!(alive <= bound, "{alive} values alive, more than {bound}");
}

/// Issue 25's second measurement: 32 warm keys hit 100 times each per
/// round, then 64 keys requested once each, for 200 rounds, through a cache
/// of 64 entries fresh for an hour. A working cache loads each warm key
/// once. Before, the policy saw one hit in 256 per thread and three reads
/// per cold key, so the one-off keys looked as popular as the warm ones:
/// the warm keys were loaded 1 543 times.
///
/// The bounds. Once moka has learned the keys, never again: no warm key is
/// loaded after the first 10 rounds (the scan of one-off keys never evicts
/// the working set, W-TinyLFU's promise). While it learns, up to 3 loads a
/// key: moka counts reads only once the cache is half full (before that it
/// keeps no frequency sketch), so the first round's hits teach it little,
/// and some warm keys are evicted once by the first round's one-off keys;
/// measured, 65–80 loads in all, every one in the first 3 rounds
/// (BENCHMARKS.md).
#[test]
fn one_off_keys_do_not_evict_the_warm_ones() {
    const WARM: u32 = 32;
    let cache: StaleCache<u32, u32> = StaleCache::new(
        CacheConfig::new()
            .maxage(std::time::Duration::from_secs(3600))
            .tolerance(std::time::Duration::from_secs(7200))
            .capacity(64),
    );
    let warm_loads = AtomicUsize::new(0);
    let mut one_off = WARM;
    let mut loads_by_round_10 = 0;
    for round in 0..200 {
        if round == 10 {
            loads_by_round_10 = warm_loads.load(SeqCst);
        }
        for key in 0..WARM {
            for _ in 0..100 {
                let loaded = || {
                    warm_loads.fetch_add(1, SeqCst);
                    Ok::<_, ()>(key)
                };
                assert_eq!(cache.request(key, "f").load_blocking(loaded), Ok(key));
            }
        }
        for _ in 0..64 {
            let key = one_off;
            one_off += 1;
            let loaded = cache.request(key, "f").load_blocking(|| Ok::<_, ()>(key));
            assert_eq!(loaded, Ok(key));
        }
    }
    let loads = warm_loads.load(SeqCst);
    eprintln!("warm loads: {loads}, {loads_by_round_10} of them in the first 10 rounds");
    assert_eq!(
        loads, loads_by_round_10,
        "warm keys loaded again after the first 10 rounds"
    );
    assert!(
        loads <= 3 * WARM as usize,
        "warm keys loaded {loads} times for {WARM} keys"
    );
}

/// A byte bound: values of 100 to 3 000 bytes offered 100 KB in all to a
/// cache of `max_bytes(10_000)` keep at most 10 000 bytes; a value of
/// 20 000 bytes is served, not kept (each request for it loads it), and
/// reported once, however often it comes.
#[test]
fn values_kept_weigh_at_most_max_bytes_and_a_heavier_one_is_served_not_kept() {
    record_events();
    let cache: StaleCache<u32, String> = StaleCache::with_weigher(
        CacheConfig::new().max_bytes(10_000).capacity(1_000),
        String::len,
    );
    let mut rng = fastrand::Rng::with_seed(25);
    let mut offered = 0;
    for key in 0..100 {
        let value = "v".repeat(rng.usize(100..=3_000));
        offered += value.len();
        let loaded = cache
            .request(key, "app::load")
            .load_blocking(|| Ok::<_, ()>(value.clone()));
        assert_eq!(loaded, Ok(value));
        cache.run_pending_tasks();
    }
    assert!(offered > 100_000, "{offered}");
    let kept: usize = (0..100)
        .filter_map(|key| cache.index.get(&key))
        .map(|stored| stored.value.len())
        .sum();
    assert!(kept <= 10_000, "{kept} bytes kept");
    assert!(kept >= 5_000, "{kept} bytes kept: the bound is used");

    let loads = AtomicUsize::new(0);
    for _ in 0..3 {
        let big = cache.request(1_000, "app::load").load_blocking(|| {
            loads.fetch_add(1, SeqCst);
            Ok::<_, ()>("x".repeat(20_000))
        });
        assert_eq!(big.map(|big| big.len()), Ok(20_000), "served");
    }
    assert_eq!(loads.load(SeqCst), 3, "not kept: each request loads it");
    let warnings: Vec<_> = test_events::recorded_events()
        .into_iter()
        .filter(|event| event.fields.contains_key("max_bytes"))
        .map(|event| (event.level.to_string(), event.fields.get("bytes").cloned()))
        .collect();
    assert_eq!(warnings, [("WARN".to_string(), Some("20000".to_string()))]);
}

/// `capacity` still bounds the entries of a cache bounded in bytes: tiny
/// values count `max_bytes / capacity` each.
#[test]
fn a_cache_bounded_in_bytes_keeps_at_most_capacity_entries() {
    let cache: StaleCache<u32, u8> =
        StaleCache::new(CacheConfig::new().max_bytes(1_000_000).capacity(10));
    for key in 0..100 {
        assert_eq!(
            cache.request(key, "f").load_blocking(|| Ok::<_, ()>(1)),
            Ok(1)
        );
    }
    cache.run_pending_tasks();
    assert!(cache.entry_count() <= 10, "{}", cache.entry_count());
}
