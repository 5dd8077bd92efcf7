//! A bulkhead's healthy path: take a slot and give it back, uncontended,
//! against `tokio::sync::Semaphore` (what a hand-written limit uses) in one
//! run; and `#[bulkhead]` on a trivial function against the direct call.
//!
//! ```text
//! cargo bench -p resilience-benches --bench bulkhead
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
use resilience_runtime::{BulkheadFull, bulkhead};

/// A trivial call, so that what is measured is the slot.
#[inline(never)]
fn trivial(x: u64) -> Result<u64, Busy> {
    Ok(x.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[derive(Debug)]
struct Busy;

impl From<BulkheadFull> for Busy {
    fn from(_: BulkheadFull) -> Self {
        Busy
    }
}

#[bulkhead(max_concurrent = 64)]
fn trivial_limited(x: u64) -> Result<u64, Busy> {
    trivial(x)
}

fn slots(c: &mut Criterion) {
    let mut group = c.benchmark_group("bulkhead/acquire+release");
    let bulkhead = Bulkhead::new("bench", BulkheadConfig::new(64));
    group.bench_function("Bulkhead::try_acquire", |b| {
        b.iter(|| drop(black_box(bulkhead.try_acquire())))
    });
    let semaphore = tokio::sync::Semaphore::new(64);
    group.bench_function("tokio Semaphore::try_acquire", |b| {
        b.iter(|| drop(black_box(semaphore.try_acquire())))
    });
    group.finish();

    let mut group = c.benchmark_group("bulkhead/call");
    group.bench_function("direct", |b| b.iter(|| trivial(black_box(7)).unwrap_or(0)));
    group.bench_function("#[bulkhead]", |b| {
        b.iter(|| trivial_limited(black_box(7)).unwrap_or(0))
    });
    group.finish();
}

criterion_group!(benches, slots);
criterion_main!(benches);
