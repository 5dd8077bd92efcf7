//! Testing mode: retries that never wait.
//!
//! A paused tokio clock (`#[tokio::test(start_paused = true)]`) already runs
//! every async wait without sleeping. It does nothing for a sync function,
//! which waits with `std::thread::sleep`, nor for tests without a paused
//! runtime. Testing mode covers both (stamina's `set_testing`): attempts,
//! breakers and caches behave as usual, but no retry waits at all, sync or
//! async. Events still report the wait the policy chose, and each skipped
//! wait counts toward a `max_elapsed` budget as if it had been waited, so
//! a test sees the attempts production would make.
//!
//! Three ways to switch it on:
//!
//! - [`set_testing`]`(true)`: for the whole process (stamina's switch). Set
//!   it at the start of a test binary, not in tests that check waits.
//! - [`enter`]: for the current thread, while the returned guard lives.
//! - [`scope`]: for one future, during each of its polls, whichever thread
//!   polls it (a spawned task).
//!
//! The scoped forms let one test binary hold tests with and without it.
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
//! let started = std::time::Instant::now();
//! {
//!     let _testing = testing::enter();
//!     assert_eq!(flaky(&mut 0), Ok(3)); // would wait 5 s, then 10 s
//! }
//! assert!(started.elapsed() < std::time::Duration::from_secs(5));
//! assert!(!testing::is_testing());
//! ```

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Duration;

static TESTING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Testing mode for this thread alone: set by [`enter`], and by
    /// [`scope`] during a poll.
    static ON_THIS_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Turns testing mode on (no retry waits) or off (the policy's waits) for
/// the whole process.
///
/// ```standalone_crate
/// resilience_runtime::testing::set_testing(true);
/// assert!(resilience_runtime::testing::is_testing());
/// resilience_runtime::testing::set_testing(false);
/// ```
pub fn set_testing(testing: bool) {
    TESTING.store(testing, Relaxed);
}

/// Whether testing mode is on here: for the whole process, or for this
/// thread ([`enter`]) or the future being polled ([`scope`]).
///
/// ```standalone_crate
/// assert!(!resilience_runtime::testing::is_testing());
/// ```
pub fn is_testing() -> bool {
    TESTING.load(Relaxed) || ON_THIS_THREAD.get()
}

/// Turns testing mode on for the current thread until the guard is
/// dropped; then it is as it was before. The guard stays on its thread (it
/// is not `Send`): for a future that may move between threads, use
/// [`scope`].
///
/// ```
/// use resilience_runtime::testing;
///
/// assert!(!testing::is_testing());
/// let guard = testing::enter();
/// assert!(testing::is_testing());
/// std::thread::spawn(|| assert!(!testing::is_testing(), "this thread only"))
///     .join()
///     .unwrap();
/// drop(guard);
/// assert!(!testing::is_testing());
/// ```
#[must_use = "testing mode lasts as long as the guard"]
pub fn enter() -> TestingGuard {
    TestingGuard {
        previous: ON_THIS_THREAD.replace(true),
        _not_send: PhantomData,
    }
}

/// Testing mode for the current thread, from [`enter`]: while it lives.
/// Guards nest: dropping an inner one leaves the outer one's mode on.
///
/// ```
/// use resilience_runtime::testing;
///
/// let outer = testing::enter();
/// drop(testing::enter());
/// assert!(testing::is_testing(), "the outer guard still holds it");
/// drop(outer);
/// assert!(!testing::is_testing());
/// ```
#[derive(Debug)]
pub struct TestingGuard {
    previous: bool,
    /// Thread-local state: the guard must be dropped where it was made.
    _not_send: PhantomData<*const ()>,
}

impl Drop for TestingGuard {
    fn drop(&mut self) {
        ON_THIS_THREAD.set(self.previous);
    }
}

/// Runs `future` in testing mode: each of its polls, on whichever thread,
/// skips retry waits. What it spawns is not covered: scope that too.
///
/// ```
/// use resilience_runtime::{retry, testing};
///
/// #[retry(max = 3, backoff = "fixed", delay = 60)]
/// async fn flaky(calls: &mut u32) -> Result<u32, String> {
///     *calls += 1;
///     if *calls < 3 { Err("down".into()) } else { Ok(*calls) }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let started = std::time::Instant::now();
/// assert_eq!(testing::scope(flaky(&mut 0)).await, Ok(3));
/// assert!(started.elapsed() < std::time::Duration::from_secs(60));
/// # }
/// ```
pub fn scope<F: Future>(future: F) -> Scoped<F> {
    Scoped { future }
}

pin_project_lite::pin_project! {
    /// A future run in testing mode, from [`scope`]: testing mode is on
    /// during its polls only.
    ///
    /// ```
    /// use resilience_runtime::testing;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let inside = testing::scope(async { testing::is_testing() }).await;
    /// assert!(inside);
    /// assert!(!testing::is_testing(), "off again between polls");
    /// # }
    /// ```
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _testing = enter();
        self.project().future.poll(cx)
    }
}

/// The wait to really make: `delay`, or none in testing mode.
#[inline]
pub(crate) fn wait_for(delay: Duration) -> Duration {
    if is_testing() { Duration::ZERO } else { delay }
}
