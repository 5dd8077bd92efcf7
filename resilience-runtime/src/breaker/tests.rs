//! Behaviour of breakers on paused time: every transition, the boundaries,
//! cancellation and panics, listeners, events and the registry.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::advance;

use super::*;
use crate::test_events::{Captured, record_events, recorded_events};

const WINDOW: Duration = Duration::from_secs(10);
const OPEN_FOR: Duration = Duration::from_secs(30);

fn config() -> BreakerConfig {
    BreakerConfig::new()
        .min_calls(4)
        .window(WINDOW)
        .open_for(OPEN_FOR)
}

fn call(breaker: &Breaker, failed: bool) -> Result<(), CircuitOpen> {
    breaker.try_acquire().map(|permit| permit.record(failed))
}

fn calls(breaker: &Breaker, outcomes: &[bool]) {
    for &failed in outcomes {
        call(breaker, failed).expect("the breaker let the call through");
    }
}

/// Opens `breaker` (min_calls 4) with four failures.
fn trip(breaker: &Breaker) {
    calls(breaker, &[true; 4]);
    assert_eq!(breaker.state(), State::Open);
}

/// Trips `breaker`, waits `open_for`, and takes the first probe permit.
async fn half_open(breaker: &Breaker) -> Permit<'_> {
    trip(breaker);
    advance(OPEN_FOR).await;
    let probe = breaker
        .try_acquire()
        .expect("the first call after open_for is a probe");
    assert_eq!(breaker.state(), State::HalfOpen);
    probe
}

fn record_changes(breaker: &Breaker) -> Arc<Mutex<Vec<(State, State)>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    breaker.on_state_change(move |change| log.lock().unwrap().push((change.from, change.to)));
    seen
}

// ---- Closed → Open -------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn opens_when_the_failure_share_exceeds_the_threshold() {
    let breaker = Breaker::new("payments", config());
    calls(&breaker, &[false, false, true]);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "3 calls are fewer than min_calls"
    );
    calls(&breaker, &[true]);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "2 of 4 is equal to the threshold, not above it"
    );
    calls(&breaker, &[true]);
    assert_eq!(breaker.state(), State::Open, "3 of 5 is above one half");

    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.name(), "payments");
    assert_eq!(open.retry_after(), OPEN_FOR);
    advance(Duration::from_secs(12)).await;
    assert_eq!(
        breaker.try_acquire().unwrap_err().retry_after(),
        Duration::from_secs(18)
    );
}

/// resilience4j's rule: the outcome that brings the window to `min_calls`
/// judges it, whether it failed or not. Under load this is the common order:
/// failures return fast, successes slowly.
#[tokio::test(start_paused = true)]
async fn a_success_that_reaches_min_calls_opens_when_the_share_is_above() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[true, true, true]);
    assert_eq!(breaker.state(), State::Closed, "3 calls < min_calls");
    calls(&breaker, &[false]);
    assert_eq!(breaker.state(), State::Open, "3 failures of 4 calls");
}

/// Old successes age out of the window while the failures stay: the first
/// success of a later bucket judges again.
#[tokio::test(start_paused = true)]
async fn a_success_opens_once_older_successes_have_aged_out() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[false, false, false, false]);
    advance(Duration::from_secs(5)).await;
    calls(&breaker, &[true, true, true]);
    assert_eq!(breaker.state(), State::Closed, "3 failures of 7");
    advance(Duration::from_secs(5)).await; // the first four have aged out
    calls(&breaker, &[false]);
    assert_eq!(breaker.state(), State::Open, "3 failures of 4");
}

#[tokio::test(start_paused = true)]
async fn a_share_equal_to_the_threshold_does_not_open() {
    let breaker = Breaker::new("t", BreakerConfig::new()); // 0.5 over 20 calls
    for _ in 0..10 {
        calls(&breaker, &[false, true]);
    }
    assert_eq!(
        breaker.counts(),
        WindowCounts {
            successes: 10,
            failures: 10
        }
    );
    assert_eq!(breaker.state(), State::Closed);
    calls(&breaker, &[true]);
    assert_eq!(breaker.state(), State::Open, "11 of 21");

    let quarter = Breaker::new("t", config().failure_rate(0.25).min_calls(8));
    calls(
        &quarter,
        &[false, false, false, true, false, false, false, true],
    );
    assert_eq!(quarter.state(), State::Closed, "2 of 8 is exactly 0.25");
}

#[tokio::test(start_paused = true)]
async fn fewer_than_min_calls_never_open() {
    let breaker = Breaker::new("t", config().min_calls(5).failure_rate(0.0));
    calls(&breaker, &[true; 4]);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.counts().failures, 4);
    calls(&breaker, &[true]);
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn successes_alone_never_open() {
    let breaker = Breaker::new("t", config().failure_rate(0.0).min_calls(1));
    calls(&breaker, &[false; 100]);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        breaker.counts(),
        WindowCounts {
            successes: 100,
            failures: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn calls_older_than_the_window_stop_counting() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[true, true, true]);
    advance(Duration::from_secs(9)).await;
    assert_eq!(
        breaker.counts().failures,
        3,
        "younger than 0.9 × window: still counted"
    );
    advance(Duration::from_secs(1)).await;
    assert_eq!(
        breaker.counts(),
        WindowCounts::default(),
        "a whole window old: gone"
    );
    calls(&breaker, &[true]);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "1 failure in the window, not 4"
    );
    calls(&breaker, &[true, true, true]);
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test(start_paused = true)]
async fn the_window_slides_bucket_by_bucket() {
    let breaker = Breaker::new("t", config().min_calls(100));
    for second in 0..10 {
        calls(&breaker, &[second % 2 == 0]);
        advance(Duration::from_secs(1)).await;
    }
    // Now at 10 s: the call made at 0 s has left, the other nine are in.
    assert_eq!(
        breaker.counts(),
        WindowCounts {
            successes: 5,
            failures: 4
        }
    );
    advance(Duration::from_millis(4_500)).await;
    assert_eq!(
        breaker.counts(),
        WindowCounts {
            successes: 3,
            failures: 2
        }
    );
}

/// The bound [`Breaker`]'s docs state for a thread that called at full
/// speed and then paused past the window: at most its next 63 successes are
/// dated at the reading before the pause, and fall out of the window; every
/// later one counts. Tried with the pause at each of the 64 places of a
/// stride, so the worst case is among them.
#[tokio::test(start_paused = true)]
async fn after_a_pause_at_most_63_successes_fall_out_of_the_window() {
    // Calls this far apart grow the stride to its cap: one reading, 64 calls.
    let step = crate::clock::STALE_BOUND / (2 * crate::clock::MAX_STRIDE);
    let after_pause = 200;
    let mut most_lost = 0;
    for place in 0..64 {
        // A new breaker starts the thread's recent reading over.
        let breaker = Breaker::new("t", config());
        for _ in 0..200 + place {
            advance(step).await;
            call(&breaker, false).unwrap();
        }
        assert!(crate::clock::at_full_speed());
        advance(2 * WINDOW).await;
        calls(&breaker, &[false; 200]);
        let lost = after_pause - breaker.counts().successes;
        assert!(
            lost <= 63,
            "{lost} successes after the pause fell out of the window"
        );
        most_lost = most_lost.max(lost);
    }
    assert_eq!(most_lost, 63, "the bound is reached, not loose");
}

#[tokio::test(start_paused = true)]
async fn a_rejected_or_dropped_call_is_not_counted() {
    let breaker = Breaker::new("t", config());
    drop(breaker.try_acquire().unwrap());
    assert_eq!(breaker.counts(), WindowCounts::default());
    trip(&breaker);
    let before = breaker.counts();
    assert!(call(&breaker, true).is_err());
    assert_eq!(breaker.counts(), before);
}

// ---- Open → Half-open → Closed / Open -------------------------------------

#[tokio::test(start_paused = true)]
async fn turns_half_open_lazily_on_the_first_call_after_open_for() {
    let breaker = Breaker::new("t", config());
    trip(&breaker);
    advance(OPEN_FOR - Duration::from_millis(1)).await;
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.retry_after(), Duration::from_millis(1));
    advance(Duration::from_millis(1)).await;
    assert_eq!(
        breaker.state(),
        State::Open,
        "no call yet, no timer: still open"
    );
    let probe = breaker.try_acquire().expect("probe");
    assert_eq!(breaker.state(), State::HalfOpen);
    drop(probe);
}

#[tokio::test(start_paused = true)]
async fn a_successful_probe_closes_with_an_empty_window() {
    let breaker = Breaker::new("t", config());
    let probe = half_open(&breaker).await;
    probe.record(false);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.counts(), WindowCounts::default());
    // The failures that opened it do not count again: three more do not open.
    calls(&breaker, &[true, true, true]);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_opens_again_for_open_for() {
    let breaker = Breaker::new("t", config());
    let changes = record_changes(&breaker);
    let probe = half_open(&breaker).await;
    advance(Duration::from_secs(3)).await;
    probe.record(true);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.try_acquire().unwrap_err().retry_after(), OPEN_FOR);
    advance(OPEN_FOR).await;
    breaker.try_acquire().expect("probe").record(false);
    assert_eq!(
        *changes.lock().unwrap(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn half_open_admits_half_open_calls_probes_and_needs_them_all() {
    let breaker = Breaker::new("t", config().half_open_calls(3));
    let first = half_open(&breaker).await;
    let second = breaker.try_acquire().expect("second probe");
    let third = breaker.try_acquire().expect("third probe");
    let rejected = breaker.try_acquire().unwrap_err();
    assert_eq!(rejected.retry_after(), Duration::ZERO);
    assert!(rejected.to_string().contains("half-open"));

    first.record(false);
    second.record(false);
    assert_eq!(breaker.state(), State::HalfOpen, "two of three probes");
    assert!(
        breaker.try_acquire().is_err(),
        "a succeeded probe keeps its slot"
    );
    third.record(false);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn one_failed_probe_among_several_opens_and_the_others_no_longer_count() {
    let breaker = Breaker::new("t", config().half_open_calls(3));
    let first = half_open(&breaker).await;
    let second = breaker.try_acquire().unwrap();
    let third = breaker.try_acquire().unwrap();
    first.record(false);
    second.record(true);
    assert_eq!(breaker.state(), State::Open);
    third.record(false); // late: belongs to the episode that ended
    assert_eq!(breaker.state(), State::Open);
    advance(OPEN_FOR).await;
    let probes: Vec<_> = (0..3)
        .map(|_| breaker.try_acquire().expect("a fresh episode"))
        .collect();
    assert!(breaker.try_acquire().is_err());
    drop(probes);
}

/// On the real clock throughout (std threads do not see a paused tokio
/// clock): `open_for = 0` makes the first call after the trip a probe.
#[test]
fn probes_are_limited_across_threads() {
    const THREADS: usize = 16;
    let breaker = Breaker::new(
        "t",
        config()
            .half_open_calls(4)
            .open_for(Duration::ZERO)
            .probe_timeout(Duration::from_secs(3600)),
    );
    trip(&breaker);
    let first = breaker
        .try_acquire()
        .expect("open_for = 0: a probe at once");
    assert_eq!(breaker.state(), State::HalfOpen);
    let acquired = Barrier::new(THREADS);
    let admitted = AtomicUsize::new(0);
    let rejected = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                let permit = breaker.try_acquire();
                match &permit {
                    Ok(_) => admitted.fetch_add(1, Relaxed),
                    Err(open) => {
                        assert_eq!(open.retry_after(), Duration::ZERO);
                        rejected.fetch_add(1, Relaxed)
                    }
                };
                // Every thread has asked before any probe ends.
                acquired.wait();
                if let Ok(permit) = permit {
                    permit.record(false);
                }
            });
        }
    });
    assert_eq!(
        admitted.load(Relaxed),
        3,
        "four slots, one taken before the threads"
    );
    assert_eq!(rejected.load(Relaxed), THREADS - 3);
    assert_eq!(breaker.state(), State::HalfOpen, "three successes of four");
    first.record(false);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn probes_are_limited_across_tasks() {
    let breaker = Arc::new(Breaker::new("t", config().half_open_calls(2)));
    trip(&breaker);
    advance(OPEN_FOR).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let breaker = Arc::clone(&breaker);
            tokio::spawn(async move {
                let Ok(permit) = breaker.try_acquire() else {
                    return false;
                };
                tokio::time::sleep(Duration::from_secs(1)).await; // the call
                permit.record(false);
                true
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        admitted += usize::from(task.await.unwrap());
    }
    assert_eq!(admitted, 2);
    assert_eq!(breaker.state(), State::Closed);
}

// ---- Cancellation and panics -----------------------------------------------

fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_abandoned_probes_leak_no_permit() {
    let breaker = Breaker::new("t", config());
    drop(half_open(&breaker).await);
    for _ in 0..5_000 {
        drop(breaker.try_acquire().expect("the slot was given back"));
    }
    for _ in 0..5_000 {
        // A probe whose future is dropped mid-call, as `select!` or a timeout
        // would drop it.
        let mut future = pin!(async {
            let _permit = breaker.try_acquire().expect("the slot was given back");
            std::future::pending::<()>().await;
        });
        assert!(poll_once(future.as_mut()).is_pending());
    }
    assert_eq!(
        breaker.state(),
        State::HalfOpen,
        "abandoned probes decide nothing"
    );
    let probe = breaker
        .try_acquire()
        .expect("the next probe still gets through");
    assert!(breaker.try_acquire().is_err(), "and only one");
    probe.record(false);
    assert_eq!(breaker.state(), State::Closed);
}

/// A probe that never ends (a hung call, a future kept but never polled)
/// must not hold the breaker half-open, rejecting everything, forever.
#[tokio::test(start_paused = true)]
async fn a_hung_probe_counts_as_failed_after_probe_timeout() {
    let timeout = Duration::from_secs(5);
    let breaker = Breaker::new("t", config().probe_timeout(timeout));
    let changes = record_changes(&breaker);
    let hung = half_open(&breaker).await;
    advance(timeout - Duration::from_millis(1)).await;
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(
        open.retry_after(),
        Duration::ZERO,
        "the probe still has time"
    );
    assert_eq!(breaker.state(), State::HalfOpen);

    advance(Duration::from_millis(1)).await;
    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(
        breaker.state(),
        State::Open,
        "the hung probe counts as failed"
    );
    assert_eq!(open.retry_after(), OPEN_FOR);
    hung.record(false); // too late: ignored
    assert_eq!(breaker.state(), State::Open);

    advance(OPEN_FOR).await;
    breaker.try_acquire().expect("a new probe").record(false);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        *changes.lock().unwrap(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn probe_timeout_defaults_to_open_for() {
    let breaker = Breaker::new("t", config());
    let _hung = half_open(&breaker).await;
    advance(OPEN_FOR - Duration::from_millis(1)).await;
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.state(), State::HalfOpen);
    advance(Duration::from_millis(1)).await;
    assert!(breaker.try_acquire().is_err());
    assert_eq!(breaker.state(), State::Open);
}

/// Failures recorded at once on many threads: whichever of them completes
/// the window must see the others' counts and open the breaker. (The
/// store-buffer reordering this guards against cannot show on x86, where the
/// bump is a locked instruction; it can on ARM without the fence in `judge`.)
#[test]
fn failures_racing_on_many_threads_open_the_breaker() {
    const THREADS: usize = 8;
    for round in 0..200 {
        let breaker = Breaker::new("t", BreakerConfig::new().min_calls(THREADS as u32));
        let start = Barrier::new(THREADS);
        std::thread::scope(|scope| {
            for _ in 0..THREADS {
                scope.spawn(|| {
                    start.wait();
                    call(&breaker, true).expect("closed until the last failure");
                });
            }
        });
        assert_eq!(breaker.state(), State::Open, "round {round}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_probe_that_panics_gives_its_slot_back() {
    let breaker = Breaker::new("t", config());
    drop(half_open(&breaker).await);
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _permit = breaker.try_acquire().unwrap();
        panic!("the decorated call panicked");
    }));
    assert!(result.is_err());
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker
        .try_acquire()
        .expect("usable after the panic")
        .record(false);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_panics_while_closed_counts_as_nothing() {
    let breaker = Breaker::new("t", config());
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _permit = breaker.try_acquire().unwrap();
        panic!("the decorated call panicked");
    }));
    assert!(result.is_err());
    assert_eq!(breaker.counts(), WindowCounts::default());
    trip(&breaker);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_listener_harms_neither_the_breaker_nor_other_listeners() {
    let breaker = Breaker::new("t", config());
    breaker.on_state_change(|_| panic!("a listener panicked"));
    let changes = record_changes(&breaker);
    trip(&breaker);
    breaker.reset();
    trip(&breaker);
    assert_eq!(changes.lock().unwrap().len(), 3);
}

// ---- reset / force_open ------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn force_open_opens_for_open_for_from_any_state() {
    let breaker = Breaker::new("t", config());
    let changes = record_changes(&breaker);
    breaker.force_open();
    assert_eq!(breaker.try_acquire().unwrap_err().retry_after(), OPEN_FOR);
    advance(Duration::from_secs(10)).await;
    breaker.force_open(); // starts open_for over, no second event
    assert_eq!(breaker.try_acquire().unwrap_err().retry_after(), OPEN_FOR);

    advance(OPEN_FOR).await;
    let probe = breaker.try_acquire().unwrap();
    breaker.force_open();
    probe.record(false); // a probe of the episode force_open ended
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        *changes.lock().unwrap(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn reset_closes_and_empties_the_window() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[true, true, true]);
    breaker.reset();
    assert_eq!(breaker.counts(), WindowCounts::default());
    calls(&breaker, &[true, true, true]);
    assert_eq!(
        breaker.state(),
        State::Closed,
        "3 failures since the reset, not 6"
    );

    breaker.reset();
    trip(&breaker);
    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    call(&breaker, false).unwrap();

    breaker.reset();
    let probe = half_open(&breaker).await;
    breaker.reset();
    drop(probe); // forgotten by the reset: gives nothing back twice
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_began_before_a_reset_does_not_count_after_it() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[true, true, true]);
    let late = breaker.try_acquire().unwrap();
    breaker.reset();
    late.record(true);
    assert_eq!(breaker.counts(), WindowCounts::default());
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn counts_while_open_are_the_calls_that_opened_it() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[false, true, true, true]);
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        breaker.counts(),
        WindowCounts {
            successes: 1,
            failures: 3
        }
    );
    advance(WINDOW).await;
    assert_eq!(breaker.counts(), WindowCounts::default());
}

// ---- Listeners -------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn listeners_see_name_from_and_to_in_order() {
    let breaker = Breaker::new("inventory", config());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    breaker.on_state_change(move |change: &StateChange| log.lock().unwrap().push(*change));
    let probe = half_open(&breaker).await;
    probe.record(false);
    breaker.force_open();
    breaker.reset();
    let seen = seen.lock().unwrap();
    assert!(seen.iter().all(|change| change.name == "inventory"));
    let steps: Vec<_> = seen.iter().map(|change| (change.from, change.to)).collect();
    assert_eq!(
        steps,
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
            (State::Closed, State::Open),
            (State::Open, State::Closed),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_listener_may_drive_its_own_breaker() {
    let breaker = Arc::new(Breaker::new("t", config()));
    let changes = record_changes(&breaker);
    let weak = Arc::downgrade(&breaker);
    breaker.on_state_change(move |change| {
        let breaker = weak.upgrade().unwrap();
        assert_eq!(breaker.state(), change.to);
        if change.to == State::Open {
            breaker.reset(); // re-entrant: told after this listener returns
        }
    });
    calls(&breaker, &[true; 4]);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        *changes.lock().unwrap(),
        [(State::Closed, State::Open), (State::Open, State::Closed)]
    );
}

// ---- Events ---------------------------------------------------------------

/// This thread's events of target `resilience` since `record_events()`.
fn resilience_events() -> Vec<Captured> {
    recorded_events()
        .into_iter()
        .filter(|event| event.target == "resilience")
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_transition_emits_one_event_and_opening_warns() {
    record_events();
    let breaker = Breaker::new("ledger", config());
    calls(&breaker, &[false, true, true, true]);
    let probe = half_open_after_trip(&breaker).await;
    probe.record(false);

    let events = resilience_events();
    let summary: Vec<_> = events
        .iter()
        .map(|event| {
            assert_eq!(event.fields["breaker"], "ledger");
            (
                event.level,
                event.fields["state"].as_str(),
                event.fields.get("failure_rate").map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (tracing::Level::WARN, "open", Some("0.75")),
            (tracing::Level::INFO, "half-open", None),
            (tracing::Level::INFO, "closed", None),
        ]
    );
}

/// For a breaker tripped already: waits `open_for` and takes a probe.
async fn half_open_after_trip(breaker: &Breaker) -> Permit<'_> {
    assert_eq!(breaker.state(), State::Open);
    advance(OPEN_FOR).await;
    breaker.try_acquire().expect("probe")
}

// ---- Registry ---------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn breakers_of_one_name_share_one_state() {
    static CHECKOUT: BreakerSlot =
        BreakerSlot::new("tests::shared", BreakerConfig::new().min_calls(4));
    static REFUND: BreakerSlot =
        BreakerSlot::new("tests::shared", BreakerConfig::new().min_calls(4));
    assert!(std::ptr::eq(CHECKOUT.breaker(), REFUND.breaker()));
    calls(CHECKOUT.breaker(), &[true, true]);
    calls(REFUND.breaker(), &[true, true]);
    assert_eq!(CHECKOUT.breaker().state(), State::Open);
    assert!(REFUND.breaker().try_acquire().is_err());
    let by_name = registry().get("tests::shared").unwrap();
    assert_eq!(by_name.counts().failures, 4);
    by_name.reset();
    assert!(REFUND.breaker().try_acquire().is_ok());
    assert!(
        registry()
            .breakers()
            .iter()
            .any(|breaker| breaker.name() == "tests::shared")
    );
}

#[tokio::test(start_paused = true)]
async fn registering_a_name_again_with_another_config_warns_and_keeps_the_first() {
    record_events();
    let first = registry().get_or_register("tests::twice", config());
    let same = registry().get_or_register("tests::twice", config());
    assert!(Arc::ptr_eq(&first, &same));
    assert!(
        resilience_events().is_empty(),
        "the same configuration is no conflict"
    );

    let other = registry().get_or_register("tests::twice", config().min_calls(50));
    assert!(Arc::ptr_eq(&first, &other));
    assert_eq!(other.config().min_calls_value(), 4);
    let events = resilience_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level, tracing::Level::WARN);
    assert_eq!(events[0].fields["breaker"], "tests::twice");
    let message = &events[0].fields["message"];
    assert!(
        message.contains("another configuration") && message.contains("min_calls: 50"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn registry_listeners_hear_registered_breakers_only() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    registry().on_state_change(move |change| {
        if change.name.starts_with("tests::listened") {
            log.lock().unwrap().push((change.name, change.to));
        }
    });
    registry()
        .get_or_register("tests::listened", config())
        .force_open();
    Breaker::new("tests::listened-alone", config()).force_open();
    assert_eq!(*heard.lock().unwrap(), [("tests::listened", State::Open)]);
}

#[test]
fn the_closed_path_needs_no_runtime() {
    let breaker = Breaker::new("t", config());
    calls(&breaker, &[false, true]);
    assert_eq!(breaker.counts().calls(), 2);
}

#[test]
fn generated_code_turns_an_open_circuit_into_the_functions_error() {
    #[derive(Debug, PartialEq)]
    enum ApiError {
        Open(&'static str),
    }
    impl From<CircuitOpen> for ApiError {
        fn from(open: CircuitOpen) -> Self {
            ApiError::Open(open.name())
        }
    }
    let open = CircuitOpen::new("payments", Duration::from_secs(1));
    let result: Result<u8, ApiError> = crate::__private::circuit_open(open);
    assert_eq!(result, Err(ApiError::Open("payments")));
}

#[test]
fn generated_code_keeps_futures_send_and_errors_portable() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    fn error<T: std::error::Error + Clone + Send + Sync + 'static>() {}
    send_sync::<Breaker>();
    send_sync::<BreakerSlot>();
    send_sync::<Registry>();
    // Held across `.await` in an async decorated function.
    send::<Permit<'static>>();
    error::<CircuitOpen>();
}

// ---- Rejections take no lock -----------------------------------------------

/// Asks for a permit on another thread (on this runtime's clock) while this
/// one holds the breaker's lock. Fails, rather than hangs, if the call waits
/// for the lock: the lock is let go after a generous 30 s.
fn acquire_while_locked(breaker: &Breaker) -> Result<(), CircuitOpen> {
    let runtime = tokio::runtime::Handle::current();
    let (answer, answered) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        let held = breaker.hold_lock();
        scope.spawn(|| {
            let _clock = runtime.enter();
            // A permit is not sent back: dropping a probe's takes the lock.
            let outcome = breaker.try_acquire().map(std::mem::forget);
            answer.send(outcome).expect("the test thread waits");
        });
        let outcome = answered.recv_timeout(Duration::from_secs(30));
        drop(held);
        outcome.expect("the call waited for the breaker's lock")
    })
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_without_its_lock() {
    let breaker = Breaker::new("t", config());
    trip(&breaker);
    advance(Duration::from_secs(1)).await;
    let open = acquire_while_locked(&breaker).unwrap_err();
    assert_eq!(open.retry_after(), OPEN_FOR - Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_half_open_breaker_with_its_probes_out_rejects_without_its_lock() {
    let breaker = Breaker::new("t", config().half_open_calls(2));
    let first = half_open(&breaker).await;
    let second = breaker.try_acquire().expect("second probe");
    let open = acquire_while_locked(&breaker).unwrap_err();
    assert_eq!(open.retry_after(), Duration::ZERO);
    assert_eq!(breaker.state(), State::HalfOpen);
    // The slots are mirrored faithfully: one given back, one let through.
    drop(second);
    let third = breaker.try_acquire().expect("the slot given back");
    assert!(breaker.try_acquire().is_err());
    first.record(false);
    third.record(false);
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn hung_probes_still_time_out_after_lock_free_rejections() {
    let probe_timeout = Duration::from_secs(5);
    let breaker = Breaker::new("t", config().probe_timeout(probe_timeout));
    let hung = half_open(&breaker).await;
    advance(probe_timeout - Duration::from_millis(1)).await;
    assert_eq!(
        acquire_while_locked(&breaker).unwrap_err().retry_after(),
        Duration::ZERO
    );
    advance(Duration::from_millis(1)).await;
    let reopened = breaker.try_acquire().unwrap_err();
    assert_eq!(reopened.retry_after(), OPEN_FOR);
    assert_eq!(breaker.state(), State::Open);
    drop(hung);
}

/// A thread whose calls came fast enough to reuse its clock reading, then
/// paused while the breaker opened and `open_for` ran out: its next call
/// must see half-open (a probe), not a rejection dated before the opening.
#[tokio::test(start_paused = true)]
async fn a_reading_older_than_the_opening_does_not_stretch_open_for() {
    let breaker = Breaker::new(
        "stale-reading-open",
        BreakerConfig::new().open_for(Duration::from_secs(1)),
    );
    let step = crate::clock::STALE_BOUND / (2 * crate::clock::MAX_STRIDE);
    for _ in 0..1_000 {
        advance(step).await;
        breaker.try_acquire().unwrap().record(false);
    }
    breaker.force_open();
    advance(Duration::from_secs(2)).await;
    let probe = breaker.try_acquire();
    assert!(probe.is_ok(), "open_for has run out: {:?}", probe.err());
    assert_eq!(breaker.state(), State::HalfOpen);
}

/// `open_for = 0`: the call right after a forced opening is a probe.
#[test]
fn a_breaker_forced_open_for_no_time_admits_the_next_call() {
    let breaker = Breaker::new(
        "stale-reading-zero",
        BreakerConfig::new().open_for(Duration::ZERO),
    );
    for _ in 0..1_000 {
        breaker.try_acquire().unwrap().record(false);
    }
    breaker.force_open();
    assert!(breaker.try_acquire().is_ok());
}

/// A thread rejected fast (its readings taken after the opening), then
/// paused past `open_for`: its next call is a probe, not a rejection dated
/// at the reading before the pause.
#[tokio::test(start_paused = true)]
async fn fast_rejections_then_a_pause_past_open_for_give_a_probe() {
    let breaker = Breaker::new(
        "stale-reading-rejections",
        BreakerConfig::new().open_for(Duration::from_secs(1)),
    );
    breaker.force_open();
    let step = crate::clock::STALE_BOUND / (2 * crate::clock::MAX_STRIDE);
    for _ in 0..1_000 {
        advance(step).await;
        assert!(breaker.try_acquire().is_err());
    }
    advance(Duration::from_secs(2)).await;
    assert!(breaker.try_acquire().is_ok(), "open_for has run out");
}

#[tokio::test(start_paused = true)]
async fn a_recent_reading_from_before_the_breaker_opened_never_rejects() {
    let breaker = Breaker::new("t", config().open_for(Duration::ZERO));
    // Calls fast enough for the thread to reuse its clock readings.
    for _ in 0..200 {
        advance(Duration::from_micros(1)).await;
        call(&breaker, false).unwrap();
    }
    advance(Duration::from_micros(1)).await;
    breaker.force_open();
    let probe = breaker
        .try_acquire()
        .expect("open_for = 0 is over at once: a probe");
    probe.record(false);
    assert_eq!(breaker.state(), State::Closed);
}

/// Outside a runtime a rejection may reuse the thread's tick reading, but
/// never one from before the breaker opened: with `open_for = 0`, the call
/// after an opening is a probe even when the thread's kept reading (from a
/// rejection by another breaker) is from the same coarse tick.
#[test]
fn a_tick_reading_from_before_the_opening_never_rejects() {
    let long = Breaker::new("tick-reading-long", BreakerConfig::new());
    long.force_open();
    let instant = Breaker::new(
        "tick-reading-instant",
        BreakerConfig::new().open_for(Duration::ZERO),
    );
    for _ in 0..100 {
        assert!(
            long.try_acquire().is_err(),
            "keeps this thread's tick reading"
        );
        instant.force_open();
        let probe = instant
            .try_acquire()
            .expect("open_for = 0 is over at once: a probe");
        probe.record(false);
        assert_eq!(instant.state(), State::Closed);
    }
}
