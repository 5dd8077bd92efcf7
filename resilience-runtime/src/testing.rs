//! Testing mode: retries that never wait.
//!
//! A paused tokio clock (`#[tokio::test(start_paused = true)]`) already runs
//! every async wait without sleeping. It does nothing for a sync function,
//! which waits with `std::thread::sleep`, nor for tests without a paused
//! runtime. [`set_testing`]`(true)` covers both (stamina's `set_testing`):
//! attempts, breakers and caches behave as usual, but no retry waits at all,
//! sync or async. Events still report the wait the policy chose. It is one
//! switch for the whole process: set it at the start of a test binary (or
//! in a test that runs alone), not in tests that check waits.
//!
//! ```standalone_crate
//! use resilience_runtime::{retry, testing};
//!
//! #[retry(max = 3, delay = 5)]
//! fn flaky(calls: &mut u32) -> Result<u32, String> {
//!     *calls += 1;
//!     if *calls < 3 { Err("down".into()) } else { Ok(*calls) }
//! }
//!
//! testing::set_testing(true);
//! let started = std::time::Instant::now();
//! assert_eq!(flaky(&mut 0), Ok(3)); // would wait 5 s, then 10 s
//! assert!(started.elapsed() < std::time::Duration::from_secs(5));
//! testing::set_testing(false);
//! ```

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

static TESTING: AtomicBool = AtomicBool::new(false);

/// Turns testing mode on (no retry waits) or off (the policy's waits).
///
/// ```standalone_crate
/// resilience_runtime::testing::set_testing(true);
/// assert!(resilience_runtime::testing::is_testing());
/// resilience_runtime::testing::set_testing(false);
/// ```
pub fn set_testing(testing: bool) {
    TESTING.store(testing, Relaxed);
}

/// Whether testing mode is on.
///
/// ```standalone_crate
/// assert!(!resilience_runtime::testing::is_testing());
/// ```
pub fn is_testing() -> bool {
    TESTING.load(Relaxed)
}

/// The wait to really make: `delay`, or none in testing mode.
#[inline]
pub(crate) fn wait_for(delay: Duration) -> Duration {
    if is_testing() { Duration::ZERO } else { delay }
}
