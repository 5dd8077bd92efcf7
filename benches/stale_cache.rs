//! A fresh hit through `#[stale_cache]`, against the direct call, a raw
//! `moka::sync::Cache::get` (the storage `#[stale_cache]` is built on) and
//! `cached`'s `#[cached(ttl_secs = ..)]` (with its default `ahash` hasher),
//! the crate a user would pick instead, at 1 and 2 threads.
//!
//! ```text
//! cargo bench -p resilience-benches --bench stale_cache
//! ```
//!
//! Every cache is warmed with the same 1024 `u64` keys first, so every call
//! measured is a fresh hit; calls cycle through the keys. At 2 threads each
//! thread makes the same number of calls on one shared cache; the figure is
//! the time per call *per thread*, so perfect scaling keeps it equal to the
//! 1-thread figure.
//!
//! One more row counts the hits: the same attribute on another function,
//! whose metric handles were registered with a recorder of real atomic
//! counters (as an exporter's are), so every hit is counted (with the
//! `metrics` feature only: without it there is nothing to count). And one
//! row breaks the hit's cost down: one read of the crate's clock
//! (`tokio::time::Instant::now()`), which a hit needs to know the value is
//! fresh.

use std::hint::black_box;
#[cfg(feature = "metrics")]
use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use cached::macros::cached;
mod threads;

use criterion::{Criterion, criterion_group, criterion_main};
use resilience_runtime::stale_cache;
use threads::on_threads;

#[derive(Debug, Clone)]
pub struct Error;

/// The keys every cache holds, fresh, while it is measured.
const KEYS: u64 = 1024;

/// A cheap call, so that what is measured is the cache.
#[inline(never)]
fn lookup(id: u64) -> Result<u64, Error> {
    Ok(id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Fresh for an hour, servable stale for two: nothing expires during a run.
#[stale_cache(maxage = 3600, tolerance = 7200)]
fn lookup_stale_cached(id: u64) -> Result<u64, Error> {
    lookup(id)
}

/// The same, its hits counted by a recorder (see [`Atomics`]).
#[cfg(feature = "metrics")]
#[stale_cache(maxage = 3600, tolerance = 7200)]
fn lookup_stale_counted(id: u64) -> Result<u64, Error> {
    lookup(id)
}

/// A recorder whose counters are atomics, as a Prometheus exporter's are.
#[cfg(feature = "metrics")]
struct Atomics;

#[cfg(feature = "metrics")]
impl metrics::Recorder for Atomics {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(AtomicU64::new(0)))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[cached(ttl_secs = 3600)]
fn lookup_cached(id: u64) -> Result<u64, Error> {
    lookup(id)
}

/// What `#[stale_cache]` keeps its values in, configured as it configures
/// it (default capacity, entries evicted after `tolerance`), holding the
/// same keys and values. `get` returns `Option<u64>`, where the attribute
/// returns `Result<u64, Error>`: the same clone of the value.
fn moka_cache() -> moka::sync::Cache<u64, u64> {
    let cache = moka::sync::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(Duration::from_secs(7200))
        .build();
    for id in 0..KEYS {
        cache.insert(id, lookup(id).unwrap());
    }
    cache.run_pending_tasks();
    cache
}

/// [`on_threads`] over the warmed keys, cycling through them.
fn on_keys(threads: usize, iters: u64, call: &(dyn Fn(u64) + Sync)) -> Duration {
    on_threads(threads, iters, &|i| call(i % KEYS))
}

fn fresh_hit(c: &mut Criterion) {
    let moka = moka_cache();
    for id in 0..KEYS {
        lookup_stale_cached(id).unwrap();
        lookup_cached(id).unwrap();
    }
    // Its handles are registered on its first request, with this recorder.
    #[cfg(feature = "metrics")]
    metrics::with_local_recorder(&Atomics, || {
        for id in 0..KEYS {
            lookup_stale_counted(id).unwrap();
        }
    });
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("stale_cache/{threads}-thread"));
        group.bench_function("direct", |b| {
            b.iter_custom(|iters| on_keys(threads, iters, &|id| drop(black_box(lookup(id)))))
        });
        group.bench_function("#[stale_cache]", |b| {
            b.iter_custom(|iters| {
                on_keys(threads, iters, &|id| {
                    drop(black_box(lookup_stale_cached(id)))
                })
            })
        });
        #[cfg(feature = "metrics")]
        group.bench_function("#[stale_cache], hits counted", |b| {
            b.iter_custom(|iters| {
                on_keys(threads, iters, &|id| {
                    drop(black_box(lookup_stale_counted(id)))
                })
            })
        });
        group.bench_function("moka get", |b| {
            b.iter_custom(|iters| {
                on_keys(threads, iters, &|id| {
                    black_box(moka.get(&id));
                })
            })
        });
        group.bench_function("clock read", |b| {
            b.iter_custom(|iters| {
                on_keys(threads, iters, &|_| {
                    black_box(tokio::time::Instant::now());
                })
            })
        });
        group.bench_function("cached", |b| {
            b.iter_custom(|iters| on_keys(threads, iters, &|id| drop(black_box(lookup_cached(id)))))
        });
        group.finish();
    }
}

criterion_group!(benches, fresh_hit);
criterion_main!(benches);
