//! Testing mode in a binary of its own: it is one switch for the process,
//! and the other behaviour tests check real waits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use resilience_runtime::{retry, testing};

#[derive(Debug, PartialEq)]
struct Down;

static CALLS: AtomicU32 = AtomicU32::new(0);

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
