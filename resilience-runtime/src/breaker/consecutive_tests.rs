//! The `consecutive` rule (issue 26): pybreaker's `fail_max`, exactly.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use tokio::time::advance;

use super::*;
use crate::test_events::{record_events, recorded_events};

const OPEN_FOR: Duration = Duration::from_secs(30);

fn in_a_row(failures: u32) -> BreakerConfig {
    BreakerConfig::new()
        .consecutive(failures)
        .open_for(OPEN_FOR)
}

fn calls(breaker: &Breaker, outcomes: &[bool]) {
    for &failed in outcomes {
        breaker
            .try_acquire()
            .expect("the breaker let the call through")
            .record(failed);
    }
}

/// MIGRATING.md's example: five straight failures after an early success.
/// A rate breaker (5 of 6 above one half, but under `min_calls`) stays
/// closed; pybreaker's `fail_max = 5` opens, and so does `consecutive = 5`.
#[tokio::test(start_paused = true)]
async fn five_failures_in_a_row_open_it_whatever_the_window_holds() {
    let outcomes = [false, true, true, true, true, true];
    let rate = Breaker::new("rate", BreakerConfig::new());
    calls(&rate, &outcomes);
    assert_eq!(rate.state(), State::Closed);

    let breaker = Breaker::new("fail-max", in_a_row(5));
    calls(&breaker, &outcomes[..5]);
    assert_eq!(breaker.state(), State::Closed, "four in a row");
    calls(&breaker, &outcomes[5..]);
    assert_eq!(breaker.state(), State::Open, "five in a row");
}

/// A success starts the count over: failures with successes between them
/// never open it, however many, and however high their share.
#[tokio::test(start_paused = true)]
async fn a_success_starts_the_count_over() {
    let breaker = Breaker::new("interleaved", in_a_row(3));
    for _ in 0..100 {
        calls(&breaker, &[true, true, false]);
    }
    assert_eq!(
        breaker.state(),
        State::Closed,
        "67 % failures, never 3 in a row"
    );
    calls(&breaker, &[true, true, true]);
    assert_eq!(breaker.state(), State::Open);
}

/// After a probe closes it, the count starts from none: the failures that
/// opened it do not count toward the next opening.
#[tokio::test(start_paused = true)]
async fn a_breaker_closed_again_counts_from_none() {
    let breaker = Breaker::new("closed-again", in_a_row(2));
    calls(&breaker, &[true, true]);
    assert_eq!(breaker.state(), State::Open);
    advance(OPEN_FOR).await;
    calls(&breaker, &[false]);
    assert_eq!(breaker.state(), State::Closed);
    calls(&breaker, &[true]);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "one failure of the new period"
    );
    calls(&breaker, &[true]);
    assert_eq!(breaker.state(), State::Open);
}

/// The opening is told as its own cause.
#[tokio::test(start_paused = true)]
async fn the_opening_says_failures_in_a_row() {
    record_events();
    let breaker = Breaker::new("told-in-a-row", in_a_row(2));
    calls(&breaker, &[true, true]);
    let opened = recorded_events()
        .into_iter()
        .find(|event| event.fields.get("state").map(String::as_str) == Some("open"))
        .expect("an open event");
    assert_eq!(
        opened.fields["message"],
        "circuit breaker opened: `consecutive` calls failed in a row"
    );
}

/// Failures from threads at once are all counted: 4 threads × 25 failures
/// reach `consecutive = 100` exactly, and 99 do not.
#[test]
fn failures_from_threads_at_once_are_each_counted() {
    for opens in [true, false] {
        let breaker = Arc::new(Breaker::new("threads-in-a-row", in_a_row(100)));
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let (breaker, start) = (Arc::clone(&breaker), Arc::clone(&start));
                // 100 failures in all, or 99: one thread makes one less.
                let failures = if !opens && thread == 0 { 24 } else { 25 };
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..failures {
                        breaker.try_acquire().unwrap().record(true);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let expected = if opens { State::Open } else { State::Closed };
        assert_eq!(breaker.state(), expected);
    }
}
