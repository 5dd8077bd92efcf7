//! Running one call on several threads at once, for the 2-thread benches.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `call(i)` for `i` in `0..iters` on each of `threads` threads,
/// started together; the time of the slowest thread.
pub fn on_threads(threads: usize, iters: u64, call: &(dyn Fn(u64) + Sync)) -> Duration {
    let start = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let began = Instant::now();
                    for i in 0..iters {
                        call(black_box(i));
                    }
                    began.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}
