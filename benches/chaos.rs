//! What the chaos points cost a healthy call: the same decorated functions
//! built without the runtime's `chaos` feature (the points are dead code)
//! and with it but idle (one relaxed load per point), against the direct
//! call. Run it twice, once per build, and compare each run's ratio to its
//! own direct call:
//!
//! ```text
//! cargo bench -p resilience-benches --bench chaos
//! cargo bench -p resilience-benches --bench chaos --features chaos
//! ```
//!
//! With the feature, the rows "another target injected" show a point's
//! cost while a rehearsal runs elsewhere in the process: the look-up that
//! finds this function is not injected.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use resilience_runtime::{CircuitOpen, breaker, retry};

/// The build measured, in the rows' names.
const BUILD: &str = if cfg!(feature = "chaos") {
    "chaos on, idle"
} else {
    "chaos off"
};

/// A trivial call, so that what is measured is the wrapping and the point.
#[inline(never)]
fn trivial(x: u64) -> Result<u64, &'static str> {
    Ok(x.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn trivial_retried(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

/// The breaker's error: an open circuit, or the call's.
#[derive(Debug)]
struct Failed;

impl From<CircuitOpen> for Failed {
    fn from(_: CircuitOpen) -> Self {
        Failed
    }
}

/// Two points: the breaker's, and the attempt's below it.
#[breaker(name = "chaos-bench")]
#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn trivial_guarded(x: u64) -> Result<u64, Failed> {
    trivial(x).map_err(|_| Failed)
}

#[retry(max = 3, backoff = "exp", delay = "100ms")]
async fn trivial_async_retried(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

fn sync_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("chaos/sync-trivial");
    group.bench_function("direct", |b| b.iter(|| trivial(black_box(7))));
    group.bench_function(format!("#[retry], {BUILD}"), |b| {
        b.iter(|| trivial_retried(black_box(7)))
    });
    group.bench_function(format!("#[breaker] #[retry], {BUILD}"), |b| {
        b.iter(|| trivial_guarded(black_box(7)))
    });
    #[cfg(feature = "chaos")]
    {
        use resilience_runtime::chaos::{self, Fault};
        let latency = Fault::new(1).latency(std::time::Duration::from_millis(1));
        chaos::inject("elsewhere::rehearsed", latency).unwrap();
        group.bench_function("#[retry], another target injected", |b| {
            b.iter(|| trivial_retried(black_box(7)))
        });
        chaos::stop_all();
    }
    group.finish();
}

fn async_calls(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("chaos/async-trivial");
    group.bench_function("direct", |b| {
        b.to_async(&runtime)
            .iter(|| async { trivial(black_box(7)) })
    });
    group.bench_function(format!("#[retry], {BUILD}"), |b| {
        b.to_async(&runtime)
            .iter(|| trivial_async_retried(black_box(7)))
    });
    group.finish();
}

criterion_group!(benches, sync_calls, async_calls);
criterion_main!(benches);
