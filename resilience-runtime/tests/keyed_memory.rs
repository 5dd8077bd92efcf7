//! What one key of a keyed breaker costs in memory: every byte allocated
//! while keys are added, counted by a global allocator of this test binary
//! (a binary of its own, so that no other test allocates meanwhile).
//!
//! `cargo test -p resilience-runtime --test keyed_memory -- --nocapture`
//! prints the figure BENCHMARKS.md records.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers, State};

/// Counts the bytes asked for and not yet given back.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEYS: u64 = 4096;

/// A host name as a service keys its breakers: 18 bytes.
fn host(i: u64) -> String {
    format!("host-{i:04}.example")
}

#[test]
fn a_keyed_breaker_costs_under_one_kib_per_key() {
    let hosts = KeyedBreakers::with_max_keys("memory-hosts", BreakerConfig::new(), KEYS);
    // The map's and the name's fixed costs, and this thread's, paid first.
    let first = hosts.breaker(host(KEYS));
    first.try_acquire().unwrap().record(false);
    hosts.key_count();
    let before = LIVE.load(Relaxed);
    for i in 0..KEYS - 1 {
        let breaker = hosts.breaker(host(i));
        breaker.try_acquire().unwrap().record(i % 2 == 0);
    }
    assert_eq!(hosts.key_count(), KEYS);
    let per_key = (LIVE.load(Relaxed) - before) / (KEYS - 1) as isize;
    println!(
        "{per_key} bytes per key ({KEYS} keys, the key's own 18-byte String included; \
         the Breaker itself {} bytes), {} CPUs",
        std::mem::size_of::<resilience_runtime::breaker::Breaker>(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    assert!(per_key < 1024, "{per_key} bytes per key");
    assert_eq!(first.state(), State::Closed);
}
