//! Bulkheads: the limit, the wait, and slots given back on every way a
//! call can end (issue 26).

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

fn waiting(max_concurrent: u32, max_wait: Duration) -> Bulkhead {
    Bulkhead::new(
        "tests",
        BulkheadConfig::new(max_concurrent).max_wait(max_wait),
    )
}

#[test]
fn at_most_the_limit_runs_and_a_slot_given_back_is_taken_again() {
    let bulkhead = Bulkhead::new("tests", BulkheadConfig::new(2));
    let first = bulkhead.try_acquire().unwrap();
    let second = bulkhead.try_acquire().unwrap();
    let full = bulkhead.try_acquire().unwrap_err();
    assert_eq!(full, BulkheadFull::new("tests", 2, Duration::ZERO));
    assert_eq!(bulkhead.inflight(), 2);
    drop(first);
    assert_eq!(bulkhead.inflight(), 1);
    let third = bulkhead.try_acquire().unwrap();
    drop((second, third));
    assert_eq!(bulkhead.inflight(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_call_waits_up_to_max_wait_and_is_turned_away_at_its_end() {
    let bulkhead = waiting(1, Duration::from_millis(50));
    let _running = bulkhead.acquire().await.unwrap();
    let started = Instant::now();
    let full = bulkhead.acquire().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    assert_eq!(full.waited(), Duration::from_millis(50));
}

#[tokio::test(start_paused = true)]
async fn a_waiting_call_takes_the_slot_given_back_within_max_wait() {
    let bulkhead = Arc::new(waiting(1, Duration::from_millis(50)));
    let running = bulkhead.try_acquire().unwrap();
    let waiter = {
        let bulkhead = Arc::clone(&bulkhead);
        tokio::spawn(async move {
            let started = Instant::now();
            let permit = bulkhead.acquire().await.map(drop);
            (permit, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(running);
    let (permit, waited) = waiter.await.unwrap();
    assert!(permit.is_ok());
    assert_eq!(
        waited,
        Duration::from_millis(30),
        "woken when the slot came back"
    );
}

#[tokio::test(start_paused = true)]
async fn max_wait_zero_turns_a_call_away_at_once() {
    let bulkhead = waiting(1, Duration::ZERO);
    let _running = bulkhead.acquire().await.unwrap();
    let started = Instant::now();
    assert!(bulkhead.acquire().await.is_err());
    assert_eq!(started.elapsed(), Duration::ZERO);
}

/// A waiter whose future is dropped (a request timeout above) neither
/// keeps a slot nor swallows the wake of the next waiter.
#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_leaves_the_next_one_its_wake() {
    let bulkhead = Arc::new(waiting(1, Duration::from_secs(10)));
    let running = bulkhead.try_acquire().unwrap();
    let spawn_waiter = || {
        let bulkhead = Arc::clone(&bulkhead);
        tokio::spawn(async move { bulkhead.acquire().await.map(drop) })
    };
    let dropped = spawn_waiter();
    tokio::task::yield_now().await;
    let patient = spawn_waiter();
    tokio::task::yield_now().await;
    dropped.abort();
    assert!(dropped.await.unwrap_err().is_cancelled());
    let started = Instant::now();
    drop(running);
    assert!(patient.await.unwrap().is_ok());
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(bulkhead.inflight(), 0);
}

/// A call that panics, and one whose future is dropped while it runs,
/// give their slots back.
#[tokio::test(start_paused = true)]
async fn a_panicking_or_dropped_call_gives_its_slot_back() {
    let bulkhead = Arc::new(waiting(1, Duration::ZERO));
    let panics = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _permit = bulkhead.acquire_blocking().unwrap();
        panic!("the call panics");
    }));
    assert!(panics.is_err());
    assert_eq!(bulkhead.inflight(), 0);

    let call = {
        let bulkhead = Arc::clone(&bulkhead);
        tokio::spawn(async move {
            let _permit = bulkhead.acquire().await.unwrap();
            std::future::pending::<()>().await;
        })
    };
    tokio::task::yield_now().await;
    assert_eq!(bulkhead.inflight(), 1);
    call.abort();
    let _ = call.await;
    assert_eq!(bulkhead.inflight(), 0);
}

/// Real threads, blocking calls: never more than the limit at once, and
/// every call gets a slot within `max_wait` when each holds it briefly.
#[test]
fn threads_never_run_more_than_the_limit_at_once() {
    let bulkhead = Arc::new(waiting(3, Duration::from_secs(5)));
    let running = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (bulkhead, running, most, start) = (
                Arc::clone(&bulkhead),
                Arc::clone(&running),
                Arc::clone(&most),
                Arc::clone(&start),
            );
            std::thread::spawn(move || {
                start.wait();
                for _ in 0..2000 {
                    let permit = bulkhead.acquire_blocking().expect("a slot within 5 s");
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    std::hint::spin_loop();
                    running.fetch_sub(1, SeqCst);
                    drop(permit);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(most.load(SeqCst) <= 3, "{} at once", most.load(SeqCst));
    assert_eq!(bulkhead.inflight(), 0);
}

/// A blocking waiter is woken by a slot given back on another thread.
#[test]
fn a_blocking_waiter_is_woken_by_another_thread() {
    let bulkhead = Arc::new(waiting(1, Duration::from_secs(5)));
    let running = bulkhead.try_acquire().unwrap();
    let waiter = {
        let bulkhead = Arc::clone(&bulkhead);
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            bulkhead.acquire_blocking().map(drop).unwrap();
            started.elapsed()
        })
    };
    while bulkhead.waiting.load(SeqCst) == 0 {
        std::thread::yield_now();
    }
    drop(running);
    let waited = waiter.join().unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "woken, not timed out: {waited:?}"
    );
}

#[test]
fn a_name_registered_twice_keeps_its_first_configuration() {
    static FIRST: BulkheadSlot = BulkheadSlot::new("tests-twice", BulkheadConfig::new(2));
    static SECOND: BulkheadSlot = BulkheadSlot::new("tests-twice", BulkheadConfig::new(5));
    assert!(std::ptr::eq(FIRST.bulkhead(), SECOND.bulkhead()));
    assert_eq!(SECOND.bulkhead().config().max_concurrent_value(), 2);
    assert_eq!(get("tests-twice").map(Bulkhead::name), Some("tests-twice"));
}

/// The adaptive bulkhead's promise under a standing queue (CoDel): once it
/// has been full with calls waiting for more than 100 ms, a further call
/// waits at most 5 ms, not `max_wait`; a fixed bulkhead keeps `max_wait`.
#[tokio::test(start_paused = true)]
async fn a_standing_queue_shortens_the_waits_of_an_adaptive_bulkhead() {
    for (config, expected) in [
        (
            BulkheadConfig::new(1)
                .max_wait(Duration::from_secs(1))
                .adaptive(1),
            Duration::from_millis(5),
        ),
        (
            BulkheadConfig::new(1).max_wait(Duration::from_secs(1)),
            Duration::from_secs(1),
        ),
    ] {
        let bulkhead = Arc::new(Bulkhead::new("tests-codel", config));
        let _running = bulkhead.try_acquire().unwrap();
        // A first waiter: the queue starts standing now; it waits its max_wait.
        let first = {
            let bulkhead = Arc::clone(&bulkhead);
            tokio::spawn(async move { bulkhead.acquire().await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        let started = Instant::now();
        let full = bulkhead.acquire().await.unwrap_err();
        assert_eq!(started.elapsed(), expected, "{config:?}");
        assert_eq!(full.waited(), expected);
        assert!(first.await.unwrap().is_err());
    }
}
