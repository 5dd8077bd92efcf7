//! The closed path of `#[breaker]` (the dependency is healthy), against the
//! direct call and the crates a user would pick instead, `failsafe` and
//! `recloser`, at 1 and 2 threads; and of a keyed breaker
//! (`#[breaker(key = ..)]`), whose calls also look their key up.
//!
//! ```text
//! cargo bench -p resilience-benches --bench breaker
//! ```
//!
//! At 2 threads each thread makes the same number of calls on one shared
//! breaker; the figure is the time per call *per thread*, so perfect scaling
//! keeps it equal to the 1-thread figure.

use std::hint::black_box;

mod threads;

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
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

fn closed_path(c: &mut Criterion) {
    let failsafe = failsafe::Config::new().build();
    let recloser = recloser::Recloser::default();
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
}

criterion_group!(benches, closed_path);
criterion_main!(benches);
