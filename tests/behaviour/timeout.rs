//! `#[timeout]`: a deadline per attempt below `#[retry]`, per call above it,
//! on paused time (so every duration below is exact).

use std::cell::Cell;
use std::future::pending;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::breaker::{State, WindowCounts};
use resilience_runtime::{CircuitOpen, TimedOut, breaker, retry, timeout};
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Down,
    TimedOut {
        function: &'static str,
        after: Duration,
    },
    Open,
}

impl From<TimedOut> for ApiError {
    fn from(timed_out: TimedOut) -> Self {
        ApiError::TimedOut {
            function: timed_out.function(),
            after: timed_out.after(),
        }
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

static PER_ATTEMPT_CALLS: AtomicU32 = AtomicU32::new(0);

/// Hangs on its first two calls, answers on the third.
#[retry(max = 3, backoff = "none")]
#[timeout(after = "2s")]
async fn fetch(id: u64) -> Result<u64, ApiError> {
    if PER_ATTEMPT_CALLS.fetch_add(1, Ordering::SeqCst) < 2 {
        pending::<()>().await;
    }
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn below_retry_it_bounds_each_attempt_hang_twice_then_answer_takes_4s() {
    let start = Instant::now();
    assert_eq!(fetch(7).await, Ok(7));
    assert_eq!(start.elapsed(), Duration::from_secs(4));
    assert_eq!(PER_ATTEMPT_CALLS.load(Ordering::SeqCst), 3);
}

static ALWAYS_HANGS_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, backoff = "fixed", delay = 1, jitter = "none")]
#[timeout(after = "2s")]
async fn always_hangs() -> Result<(), ApiError> {
    ALWAYS_HANGS_CALLS.fetch_add(1, Ordering::SeqCst);
    pending().await
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_times_out_the_last_timeout_is_returned() {
    let start = Instant::now();
    let error = always_hangs().await.unwrap_err();
    // 2 s per attempt, 1 s between them.
    assert_eq!(start.elapsed(), Duration::from_secs(2 + 1 + 2 + 1 + 2));
    assert_eq!(ALWAYS_HANGS_CALLS.load(Ordering::SeqCst), 3);
    assert_eq!(
        error,
        ApiError::TimedOut {
            function: concat!(module_path!(), "::always_hangs"),
            after: Duration::from_secs(2),
        }
    );
}

static WHOLE_CALL_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Every attempt fails after 2 s; with 1 s between attempts the three
/// would take 8 s.
#[timeout(after = "4.5s")]
#[retry(max = 3, backoff = "fixed", delay = 1, jitter = "none")]
async fn slow_and_failing() -> Result<(), ApiError> {
    WHOLE_CALL_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    sleep(Duration::from_secs(2)).await;
    Err(ApiError::Down)
}

#[tokio::test(start_paused = true)]
async fn above_retry_it_bounds_the_whole_call_with_its_retries() {
    let start = Instant::now();
    let error = slow_and_failing().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_millis(4500));
    // Attempts began at 0 s and 3 s; the second was cut off at 4.5 s.
    assert_eq!(WHOLE_CALL_ATTEMPTS.load(Ordering::SeqCst), 2);
    assert!(
        matches!(error, ApiError::TimedOut { after, .. } if after == Duration::from_millis(4500)),
        "{error:?}"
    );
}

#[timeout(after = "2s")]
async fn answers_in(delay: Duration) -> Result<Duration, ApiError> {
    sleep(delay).await;
    Ok(delay)
}

#[tokio::test(start_paused = true)]
async fn a_call_that_ends_before_the_deadline_is_untouched() {
    let start = Instant::now();
    let just_in_time = Duration::from_millis(1999);
    assert_eq!(answers_in(just_in_time).await, Ok(just_in_time));
    assert_eq!(start.elapsed(), just_in_time);
    // An error of the call itself passes through as it is.
    #[timeout(after = 1)]
    async fn fails() -> Result<(), ApiError> {
        Err(ApiError::Down)
    }
    assert_eq!(fails().await, Err(ApiError::Down));
}

/// Hangs while `hang` is set.
#[breaker(name = "timeout-hosts", min_calls = 2, open_for = 30)]
#[timeout(after = "1s")]
async fn guarded(hang: bool) -> Result<(), ApiError> {
    if hang {
        pending::<()>().await;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_call_counts_as_a_breaker_failure() {
    assert!(matches!(
        guarded(true).await,
        Err(ApiError::TimedOut { .. })
    ));
    assert!(matches!(
        guarded(true).await,
        Err(ApiError::TimedOut { .. })
    ));
    let breaker = breaker::registry().get("timeout-hosts").unwrap();
    assert_eq!(breaker.state(), State::Open);
    let start = Instant::now();
    assert_eq!(guarded(false).await, Err(ApiError::Open));
    assert_eq!(start.elapsed(), Duration::ZERO, "rejected without waiting");
}

/// A dependency that hangs while `hang` is set, behind a breaker, with the
/// deadline above the breaker: the timeout drops the breaker's call.
#[timeout(after = "1s")]
#[breaker(name = "timeout-above-breaker", min_calls = 2, open_for = 30)]
async fn hangs_under_the_breaker(hang: bool) -> Result<(), ApiError> {
    if hang {
        pending::<()>().await;
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn above_breaker_a_call_cut_off_at_the_deadline_counts_as_a_breaker_failure() {
    for _ in 0..2 {
        assert!(matches!(
            hangs_under_the_breaker(true).await,
            Err(ApiError::TimedOut { .. })
        ));
    }
    let breaker = breaker::registry().get("timeout-above-breaker").unwrap();
    assert_eq!(
        breaker.state(),
        State::Open,
        "two calls cut off: two failures"
    );
    let start = Instant::now();
    assert_eq!(hangs_under_the_breaker(false).await, Err(ApiError::Open));
    assert_eq!(start.elapsed(), Duration::ZERO, "rejected without waiting");
    // Half-open: a probe cut off at the deadline is a failed probe.
    tokio::time::advance(Duration::from_secs(30)).await;
    assert!(matches!(
        hangs_under_the_breaker(true).await,
        Err(ApiError::TimedOut { .. })
    ));
    assert_eq!(breaker.state(), State::Open, "the probe failed");
}

/// Hangs until its caller goes away, behind a breaker, under a deadline.
#[timeout(after = "1s")]
#[breaker(name = "timeout-above-breaker-left", min_calls = 1, open_for = 30)]
async fn hangs_until_its_caller_leaves() -> Result<(), ApiError> {
    pending().await
}

#[tokio::test(start_paused = true)]
async fn above_breaker_a_call_its_caller_dropped_counts_as_neither() {
    for _ in 0..3 {
        // The caller gives up before the deadline: the call is cancelled,
        // not failed.
        let left =
            tokio::time::timeout(Duration::from_millis(500), hangs_until_its_caller_leaves()).await;
        assert!(left.is_err());
    }
    let breaker = breaker::registry()
        .get("timeout-above-breaker-left")
        .unwrap();
    assert_eq!(breaker.counts(), WindowCounts::default());
    assert_eq!(breaker.state(), State::Closed);
}

#[timeout(after = "250ms")]
async fn read_config(path: &str) -> std::io::Result<String> {
    pending::<()>().await;
    Ok(path.to_owned())
}

#[tokio::test(start_paused = true)]
async fn an_io_result_function_gets_an_io_error_of_kind_timed_out() {
    let error = read_config("app.toml").await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    let inner = error.get_ref().unwrap().downcast_ref::<TimedOut>().unwrap();
    assert_eq!(inner.after(), Duration::from_millis(250));
}

struct Client {
    calls: u32,
}

impl Client {
    #[retry(max = 2, backoff = "none")]
    #[timeout(after = "1s")]
    async fn get(&mut self, path: &str) -> Result<String, ApiError> {
        self.calls += 1;
        if self.calls == 1 {
            pending::<()>().await;
        }
        Ok(format!("{path} on call {}", self.calls))
    }

    #[timeout(after = "1s")]
    async fn peek(&self, path: String) -> Result<String, ApiError> {
        Ok(format!("{path} after {} calls", self.calls))
    }
}

#[tokio::test(start_paused = true)]
async fn methods_keep_their_receivers() {
    let mut client = Client { calls: 0 };
    let start = Instant::now();
    assert_eq!(client.get("/a").await, Ok("/a on call 2".to_owned()));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(
        client.peek("/b".to_owned()).await,
        Ok("/b after 2 calls".to_owned())
    );
}

/// `Cell` is `Send` but not `Sync`: the future must stay `Send` although
/// each attempt copies the argument under the deadline.
#[retry(max = 2, backoff = "none")]
#[timeout(after = "1s")]
async fn counts(cell: Cell<u32>, name: String) -> Result<u32, ApiError> {
    sleep(Duration::from_millis(1)).await;
    Ok(cell.get() + name.len() as u32)
}

#[tokio::test(start_paused = true)]
async fn the_future_stays_send_with_send_only_arguments() {
    fn assert_send<F: std::future::Future + Send>(future: F) -> F {
        future
    }
    let answer = tokio::spawn(assert_send(counts(Cell::new(3), "four".into())))
        .await
        .unwrap();
    assert_eq!(answer, Ok(7));
}

static PROFILE_HANGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[resilience_runtime::stale_cache(maxage = 3, tolerance = 15, retries = 0)]
#[timeout(after = "2s")]
async fn profile(user_id: String) -> Result<String, ApiError> {
    if PROFILE_HANGS.load(Ordering::SeqCst) {
        pending::<()>().await;
    }
    Ok(format!("profile of {user_id}"))
}

#[tokio::test(start_paused = true)]
async fn under_a_stale_cache_a_hung_refresh_serves_the_stale_value_at_the_deadline() {
    assert_eq!(profile("42".into()).await.unwrap(), "profile of 42");
    PROFILE_HANGS.store(true, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(5)).await; // expired, within tolerance
    let start = Instant::now();
    assert_eq!(profile("42".into()).await.unwrap(), "profile of 42");
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "the refresh was cut off"
    );
}

static BOTH_BOUNDS_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[timeout(after = "10s")]
#[retry(max = 5, backoff = "none")]
#[timeout(after = "3s")]
async fn both_bounds(id: String) -> Result<String, ApiError> {
    BOTH_BOUNDS_ATTEMPTS.fetch_add(1, Ordering::SeqCst);
    pending::<()>().await;
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn a_bound_per_attempt_and_one_for_the_call_stack() {
    let start = Instant::now();
    let error = both_bounds("7".into()).await.unwrap_err();
    // Attempts cut off at 3, 6 and 9 s; the fourth by the call's 10 s.
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(BOTH_BOUNDS_ATTEMPTS.load(Ordering::SeqCst), 4);
    assert!(
        matches!(error, ApiError::TimedOut { after, .. } if after == Duration::from_secs(10)),
        "{error:?}"
    );
}
