//! `recovery::scope` around decorated functions, as an application reads
//! what it took to answer a request.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::recovery::{self, Recovery};
use resilience_runtime::{CircuitOpen, breaker, fallback, retry, stale_cache};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Timeout,
    Open,
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

static DOWN: AtomicBool = AtomicBool::new(false);
static CALLS: AtomicU32 = AtomicU32::new(0);

async fn placeholder(id: u32, _: ApiError) -> Result<String, ApiError> {
    Ok(format!("placeholder {id}"))
}

#[fallback(fn = placeholder)]
#[stale_cache(maxage = 5, tolerance = 60, retries = 0)]
#[breaker(name = "recovery-profiles", min_calls = 3, failure_rate = 0.5)]
#[retry(max = 3, backoff = "none")]
async fn profile(id: u32) -> Result<String, ApiError> {
    CALLS.fetch_add(1, Ordering::SeqCst);
    if DOWN.load(Ordering::SeqCst) {
        Err(ApiError::Timeout)
    } else {
        Ok(format!("profile {id}"))
    }
}

#[tokio::test(start_paused = true)]
async fn each_request_reads_what_it_took() {
    // Healthy: nothing to report.
    let (answer, healthy) = recovery::scope(profile(1)).await;
    assert_eq!(answer, Ok("profile 1".into()));
    assert_eq!(healthy, Recovery::default());
    assert!(!healthy.recovered());

    DOWN.store(true, Ordering::SeqCst);

    // Nothing cached: 2 retries, then the fallback.
    let (answer, failed) = recovery::scope(profile(2)).await;
    assert_eq!(answer, Ok("placeholder 2".into()));
    assert_eq!((failed.retries, failed.fallbacks), (2, 1));
    assert!(failed.fallback_used() && failed.stale_age.is_none());

    // Expired: 2 retries, then the stale value, with its age.
    tokio::time::advance(Duration::from_secs(8)).await;
    let (answer, stale) = recovery::scope(profile(1)).await;
    assert_eq!(answer, Ok("profile 1".into()));
    assert_eq!(
        (stale.retries, stale.fallbacks, stale.stale_served),
        (2, 0, 1)
    );
    assert_eq!(stale.stale_age.map(|age| age.as_secs()), Some(8));

    // 2 failures of 3 calls opened the breaker: rejected, not retried.
    let calls = CALLS.load(Ordering::SeqCst);
    let (answer, rejected) = recovery::scope(async {
        let answer = profile(3).await;
        // Readable from inside the request, too.
        (answer, Recovery::current())
    })
    .await;
    assert_eq!(answer.0, Ok("placeholder 3".into()));
    assert_eq!(answer.1, Some(rejected));
    assert_eq!(CALLS.load(Ordering::SeqCst), calls, "not called");
    assert_eq!(
        (
            rejected.breaker_rejections,
            rejected.retries,
            rejected.fallbacks
        ),
        (1, 0, 1)
    );
}

/// A sync call that fails once and then succeeds counts one retry.
#[test]
fn a_sync_call_that_recovers_on_its_second_attempt_counts_one_retry() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "none")]
    fn flaky() -> Result<u32, ApiError> {
        match CALLS.fetch_add(1, Ordering::SeqCst) {
            0 => Err(ApiError::Timeout),
            call => Ok(call + 1),
        }
    }

    let (answer, recovery) = recovery::scope_blocking(flaky);
    assert_eq!(answer, Ok(2));
    assert_eq!(recovery.retries, 1);
    let (answer, healthy) = recovery::scope_blocking(flaky);
    assert_eq!(answer, Ok(3));
    assert_eq!(
        healthy,
        Recovery::default(),
        "a healthy call counts nothing"
    );
}

#[test]
fn outside_a_scope_nothing_is_kept() {
    #[retry(max = 2, delay = "1ms")]
    fn always_failing() -> Result<(), String> {
        Err("down".into())
    }
    assert!(always_failing().is_err());
    assert_eq!(Recovery::current(), None);
}
