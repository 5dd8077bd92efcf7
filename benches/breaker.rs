//! The closed path of `#[breaker]` (the dependency is healthy), against the
//! direct call and the crates a user would pick instead, `failsafe` and
//! `recloser`, at 1 and 2 threads; of a keyed breaker
//! (`#[breaker(key = ..)]`), whose calls also look their key up; and a
//! rejected call, while open and while half-open with its probe out.
//!
//! ```text
//! cargo bench -p resilience-benches --bench breaker
//! ```
//!
//! At 2 threads each thread makes the same number of calls on one shared
//! breaker; the figure is the time per call *per thread*, so perfect scaling
//! keeps it equal to the 1-thread figure.
//!
//! With the `metrics` feature (the default) a recorder of atomic counters is
//! installed first, as a Prometheus exporter would be, so the breaker's
//! `breaker_calls_total` counting is paid for; compare with
//! `--no-default-features`.

use std::hint::black_box;

mod threads;

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use std::sync::Arc;

use resilience_runtime::breaker::{Breaker, State, registry};
use resilience_runtime::{CircuitOpen, breaker};
use threads::on_threads;

#[derive(Debug)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

/// A cheap call, so that what is measured is the breaker.
#[inline(never)]
fn work(x: u64) -> Result<u64, Error> {
    Ok(x.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[breaker(name = "bench")]
fn work_broken(x: u64) -> Result<u64, Error> {
    work(x)
}

#[breaker(name = "bench-keyed-id", key = id)]
fn work_keyed_by_id(id: u64, x: u64) -> Result<u64, Error> {
    work(x ^ id)
}

#[breaker(name = "bench-keyed-host", key = host)]
fn work_keyed_by_host(host: &str, x: u64) -> Result<u64, Error> {
    work(x ^ host.len() as u64)
}

#[breaker(name = "bench-open", open_for = 3600)]
fn work_open(x: u64) -> Result<u64, Error> {
    work(x)
}

#[breaker(name = "bench-half-open", open_for = "1ms", probe_timeout = 3600)]
fn work_half_open(x: u64) -> Result<u64, Error> {
    work(x)
}

/// The registered breaker of a `#[breaker]` function, after one call.
fn registered(name: &str, call: fn(u64) -> Result<u64, Error>) -> Arc<Breaker> {
    let _ = call(0);
    registry().get(name).expect("registered by its first call")
}

const HOSTS: [&str; 8] = [
    "a.example",
    "b.example",
    "c.example",
    "d.example",
    "e.example",
    "f.example",
    "g.example",
    "h.example",
];

/// A recorder whose counters and gauges are shared atomics, as an
/// exporter's are.
#[cfg(feature = "metrics")]
fn install_recorder() {
    use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
    use std::sync::atomic::AtomicU64;

    struct Atomics;
    impl metrics::Recorder for Atomics {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(AtomicU64::new(0)))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(Arc::new(AtomicU64::new(0)))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }
    metrics::set_global_recorder(Atomics).expect("the first recorder");
}

fn closed_path(c: &mut Criterion) {
    #[cfg(feature = "metrics")]
    install_recorder();
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::Recloser::default();
    let open = registered("bench-open", work_open);
    open.force_open();
    // Half-open with its one probe out (for an hour): every call is rejected.
    let half_open = registered("bench-half-open", work_half_open);
    half_open.force_open();
    // Past `open_for`, and past the coarse clock tick a rejection may be
    // judged in (10 ms at the slowest kernel tick).
    std::thread::sleep(std::time::Duration::from_millis(12));
    let probe = half_open.try_acquire().expect("the probe after open_for");
    assert_eq!(half_open.state(), State::HalfOpen);
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("breaker/{threads}-thread"));
        group.bench_function("direct", |b| {
            b.iter_custom(|iters| on_threads(threads, iters, &|i| drop(black_box(work(i)))))
        });
        group.bench_function("#[breaker]", |b| {
            b.iter_custom(|iters| on_threads(threads, iters, &|i| drop(black_box(work_broken(i)))))
        });
        group.bench_function("#[breaker(key = u64)]", |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| {
                    drop(black_box(work_keyed_by_id(i % 8, i)))
                })
            })
        });
        group.bench_function("#[breaker(key = &str)]", |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| {
                    drop(black_box(work_keyed_by_host(HOSTS[i as usize % 8], i)))
                })
            })
        });
        group.bench_function("#[breaker] rejected, open", |b| {
            b.iter_custom(|iters| on_threads(threads, iters, &|i| drop(black_box(work_open(i)))))
        });
        group.bench_function("#[breaker] rejected, half-open", |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| drop(black_box(work_half_open(i))))
            })
        });
        group.bench_function("failsafe", |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| {
                    drop(black_box(failsafe.call(|| work(i))))
                })
            })
        });
        group.bench_function("recloser", |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|i| {
                    drop(black_box(recloser.call(|| work(i))))
                })
            })
        });
        group.finish();
    }
    drop(probe);
}

criterion_group!(benches, closed_path);
criterion_main!(benches);
