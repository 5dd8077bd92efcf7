//! Testing mode in a binary of its own: it is one switch for the process,
//! and the other behaviour tests check real waits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use resilience_runtime::{retry, testing};

#[derive(Debug, PartialEq)]
struct Down;

static CALLS: AtomicU32 = AtomicU32::new(0);

/// The switch is one for the process: its tests take turns.
static SWITCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[retry(max = 3, backoff = "fixed", delay = "30ms", jitter = "none")]
fn flaky_sync() -> Result<u32, Down> {
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if call < 3 { Err(Down) } else { Ok(call) }
}

#[retry(max = 3, backoff = "fixed", delay = 5, jitter = "none")]
fn slow_sync(calls: &AtomicU32) -> Result<u32, Down> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call < 3 { Err(Down) } else { Ok(call) }
}

#[retry(max = 3, backoff = "fixed", delay = 5, jitter = "none")]
async fn flaky_async(calls: &AtomicU32) -> Result<u32, Down> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if call < 3 { Err(Down) } else { Ok(call) }
}

#[test]
fn testing_mode_skips_every_wait_and_switches_back() {
    let _turn = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    testing::set_testing(true);
    let started = Instant::now();
    assert_eq!(
        slow_sync(&AtomicU32::new(0)),
        Ok(3),
        "the attempts are made as usual"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a sync retry does not sleep its 5 s waits"
    );

    // Async on a runtime that is *not* paused: 5 s, then 5 s, skipped.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(runtime.block_on(flaky_async(&AtomicU32::new(0))), Ok(3));
    assert!(started.elapsed() < Duration::from_secs(5));

    testing::set_testing(false);
    let started = Instant::now();
    assert_eq!(flaky_sync(), Ok(3));
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "two real 30 ms waits again"
    );
}

/// The process-wide switch keeps production's attempt count too: skipped
/// waits count toward `max_elapsed` (attempts at 0, 1, 2 and 3 s of 3.5 s).
#[test]
fn the_process_wide_switch_counts_skipped_waits_toward_the_budget() {
    static BUDGETED: AtomicU32 = AtomicU32::new(0);
    #[retry(
        max = 10,
        backoff = "fixed",
        delay = 1,
        jitter = "none",
        max_elapsed = 3.5
    )]
    fn budgeted() -> Result<u32, Down> {
        BUDGETED.fetch_add(1, Ordering::SeqCst);
        Err(Down)
    }

    let _turn = SWITCH.lock().unwrap_or_else(|e| e.into_inner());
    testing::set_testing(true);
    let outcome = budgeted();
    testing::set_testing(false);
    assert_eq!(outcome, Err(Down));
    assert_eq!(BUDGETED.load(Ordering::SeqCst), 4);
}
