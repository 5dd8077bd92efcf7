//! The healthy path of `#[retry]` (the first attempt succeeds), against the
//! direct call and against `backon`, the crate a user would pick instead:
//! on a small piece of real work, and on a trivial function (~2 ns), where
//! what is measured is the wrapping alone.
//!
//! On the trivial function, criterion keeps each call's `Result` (16 bytes)
//! in memory: the direct call writes it there itself, but any wrapper that
//! looks at the result first hands it over with a copy, which reads back
//! what the call has only just stored. The "by hand" rows measure that
//! floor; the "value used" rows take the `Ok` value as a caller does, and
//! keep only a `u64`.
//!
//! ```text
//! cargo bench -p resilience-benches --bench retry
//! ```

use std::hint::black_box;

use backon::{BlockingRetryable, ExponentialBuilder, Retryable};
use criterion::{Criterion, criterion_group, criterion_main};
use resilience_runtime::retry;

/// A small piece of real work (~100 ns): validate and checksum a payload, as
/// a client does with a response before handing it on.
fn checksum(payload: &[u8]) -> Result<u64, &'static str> {
    if payload.is_empty() {
        return Err("empty payload");
    }
    Ok(payload
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        }))
}

#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn checksum_retried(payload: &[u8]) -> Result<u64, &'static str> {
    checksum(payload)
}

async fn checksum_async(payload: &[u8]) -> Result<u64, &'static str> {
    checksum(payload)
}

#[retry(max = 3, backoff = "exp", delay = "100ms")]
async fn checksum_async_retried(payload: &[u8]) -> Result<u64, &'static str> {
    checksum(payload)
}

/// An owned argument: `#[retry]` clones it for the attempt.
#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn checksum_owned_retried(payload: Vec<u8>) -> Result<u64, &'static str> {
    checksum(&payload)
}

/// A trivial call, so that what is measured is the retry loop.
#[inline(never)]
fn trivial(x: u64) -> Result<u64, &'static str> {
    Ok(x.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn trivial_retried(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

/// The same, for the "value used" rows: its own function, so that the row
/// above keeps one call site (inlining depends on how many there are).
#[retry(max = 3, backoff = "exp", delay = "100ms")]
fn trivial_retried_used(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

/// The same, drawing on a retry budget: each call deposits.
#[retry(max = 3, backoff = "exp", delay = "100ms", budget = "bench")]
fn trivial_budgeted(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

#[retry(max = 3, backoff = "exp", delay = "100ms", budget = "bench")]
fn trivial_budgeted_used(x: u64) -> Result<u64, &'static str> {
    trivial(x)
}

/// The least a wrapper that tells a failure from a success costs when the
/// compiler inlines it: the check, and the failure path out of line.
fn trivial_checked_by_hand(x: u64) -> Result<u64, &'static str> {
    let result = trivial(x);
    if result.is_err() {
        return failed_again(result);
    }
    result
}

#[cold]
#[inline(never)]
fn failed_again(result: Result<u64, &'static str>) -> Result<u64, &'static str> {
    black_box(result)
}

/// The least any out-of-line wrapper costs: one more call level and a
/// match, the failure path out of line.
#[inline(never)]
fn trivial_wrapped_by_hand(x: u64) -> Result<u64, &'static str> {
    match trivial(x) {
        Ok(value) => Ok(value),
        Err(error) => failed(error),
    }
}

#[cold]
#[inline(never)]
fn failed(error: &'static str) -> Result<u64, &'static str> {
    black_box(Err(error))
}

/// A subscriber that takes every event and keeps none, standing for a
/// service's log pipeline: with it, `#[retry]` must know when each call
/// started (the events' `elapsed_ms`).
struct Listening;

impl tracing::Subscriber for Listening {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(100))
        .with_max_times(2)
}

fn sync_calls(c: &mut Criterion) {
    let payload = vec![7u8; 96];
    let mut group = c.benchmark_group("retry/sync");
    group.bench_function("direct", |b| b.iter(|| checksum(black_box(&payload))));
    group.bench_function("#[retry]", |b| {
        b.iter(|| checksum_retried(black_box(&payload)))
    });
    group.bench_function("backon", |b| {
        b.iter(|| (|| checksum(black_box(&payload))).retry(backoff()).call())
    });
    group.finish();

    let mut group = c.benchmark_group("retry/sync-trivial");
    group.bench_function("direct", |b| b.iter(|| trivial(black_box(7))));
    group.bench_function("wrapped by hand", |b| {
        b.iter(|| trivial_wrapped_by_hand(black_box(7)))
    });
    group.bench_function("checked by hand, inline", |b| {
        b.iter(|| trivial_checked_by_hand(black_box(7)))
    });
    group.bench_function("#[retry]", |b| b.iter(|| trivial_retried(black_box(7))));
    group.bench_function("direct, value used", |b| {
        b.iter(|| trivial(black_box(7)).unwrap_or(0))
    });
    group.bench_function("#[retry], value used", |b| {
        b.iter(|| trivial_retried_used(black_box(7)).unwrap_or(0))
    });
    group.bench_function("#[retry], observed", |b| {
        tracing::subscriber::with_default(Listening, || b.iter(|| trivial_retried(black_box(7))))
    });
    group.bench_function("backon", |b| {
        b.iter(|| (|| trivial(black_box(7))).retry(backoff()).call())
    });
    group.finish();

    // A retry budget's price on the healthy path: the deposit. Against
    // tower's `TpsBudget`, deposited into by tower's `Retry` per request.
    let mut group = c.benchmark_group("retry/budget");
    group.bench_function("#[retry]", |b| b.iter(|| trivial_retried(black_box(7))));
    group.bench_function("#[retry(budget)]", |b| {
        b.iter(|| trivial_budgeted(black_box(7)))
    });
    group.bench_function("#[retry], value used", |b| {
        b.iter(|| trivial_retried_used(black_box(7)).unwrap_or(0))
    });
    group.bench_function("#[retry(budget)], value used", |b| {
        b.iter(|| trivial_budgeted_used(black_box(7)).unwrap_or(0))
    });
    let tower_budget =
        tower::retry::budget::TpsBudget::new(std::time::Duration::from_secs(10), 10, 0.2);
    group.bench_function("tower TpsBudget deposit, value used", |b| {
        b.iter(|| {
            tower::retry::budget::Budget::deposit(&tower_budget);
            trivial(black_box(7)).unwrap_or(0)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("retry/sync-owned-argument");
    group.bench_function("direct", |b| {
        b.iter(|| checksum(&black_box(payload.clone())))
    });
    group.bench_function("#[retry]", |b| {
        b.iter(|| checksum_owned_retried(black_box(payload.clone())))
    });
    group.finish();
}

fn async_calls(c: &mut Criterion) {
    let payload = vec![7u8; 96];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("retry/async");
    group.bench_function("direct", |b| {
        b.to_async(&runtime)
            .iter(|| checksum_async(black_box(&payload)))
    });
    group.bench_function("#[retry]", |b| {
        b.to_async(&runtime)
            .iter(|| checksum_async_retried(black_box(&payload)))
    });
    group.bench_function("backon", |b| {
        b.to_async(&runtime)
            .iter(|| (|| checksum_async(black_box(&payload))).retry(backoff()))
    });
    group.finish();
}

criterion_group!(benches, sync_calls, async_calls);
criterion_main!(benches);
