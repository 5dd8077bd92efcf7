//! All four attributes in the documented order, end to end:
//! `#[fallback] #[stale_cache] #[breaker] #[retry]`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::breaker::State;
use resilience_runtime::{CircuitOpen, breaker, fallback, retry, stale_cache};
use tokio::time::advance;

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Timeout,
    Open(&'static str),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open.name())
    }
}

static DOWN: AtomicBool = AtomicBool::new(false);
static UPSTREAM_CALLS: AtomicU32 = AtomicU32::new(0);
static FALLBACK_ERRORS: Mutex<Vec<ApiError>> = Mutex::new(Vec::new());

async fn placeholder(user_id: String, error: ApiError) -> Result<String, ApiError> {
    FALLBACK_ERRORS.lock().unwrap().push(error);
    Ok(format!("placeholder for {user_id}"))
}

#[fallback(fn = placeholder)]
#[stale_cache(maxage = 3, tolerance = 15, retries = 0)]
#[breaker(
    name = "stack-profiles",
    min_calls = 2,
    failure_rate = 0.5,
    open_for = 60
)]
#[retry(max = 3, backoff = "none")]
async fn fetch_user_profile(user_id: String) -> Result<String, ApiError> {
    let call = UPSTREAM_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if DOWN.load(Ordering::SeqCst) {
        Err(ApiError::Timeout)
    } else {
        Ok(format!("{user_id}#{call}"))
    }
}

fn upstream_calls() -> u32 {
    UPSTREAM_CALLS.load(Ordering::SeqCst)
}

#[tokio::test(start_paused = true)]
async fn each_layer_answers_in_turn() {
    // Healthy: loaded and cached.
    assert_eq!(fetch_user_profile("ada".into()).await, Ok("ada#1".into()));

    // Down. ada has expired: the refresh makes 3 attempts (#[retry]), one
    // breaker failure, and the stale value answers.
    DOWN.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(4)).await;
    assert_eq!(
        fetch_user_profile("ada".into()).await,
        Ok("ada#1".into()),
        "stale, age 4 s"
    );
    assert_eq!(upstream_calls(), 4);

    // bob was never cached: 3 attempts fail, the breaker opens (2 of 2
    // calls failed), and the fallback answers with the upstream's error.
    assert_eq!(
        fetch_user_profile("bob".into()).await,
        Ok("placeholder for bob".into())
    );
    assert_eq!(upstream_calls(), 7);
    let breaker = breaker::registry().get("stack-profiles").unwrap();
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(
        breaker.counts().failures,
        2,
        "two calls, each with all its retries, are two outcomes"
    );

    // Open: the stale cache answers for ada without an attempt...
    assert_eq!(fetch_user_profile("ada".into()).await, Ok("ada#1".into()));
    // ...and the fallback for carol, with the breaker's rejection.
    assert_eq!(
        fetch_user_profile("carol".into()).await,
        Ok("placeholder for carol".into())
    );
    assert_eq!(upstream_calls(), 7, "no retry ran against the open breaker");
    assert_eq!(
        *FALLBACK_ERRORS.lock().unwrap(),
        [ApiError::Timeout, ApiError::Open("stack-profiles")]
    );

    // Beyond tolerance, ada gets the fallback too.
    advance(Duration::from_secs(12)).await;
    assert_eq!(
        fetch_user_profile("ada".into()).await,
        Ok("placeholder for ada".into())
    );

    // After `open_for`, a healthy upstream: the probe closes the breaker
    // and fresh data flows again.
    DOWN.store(false, Ordering::SeqCst);
    advance(Duration::from_secs(60)).await;
    assert_eq!(fetch_user_profile("ada".into()).await, Ok("ada#8".into()));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        fetch_user_profile("ada".into()).await,
        Ok("ada#8".into()),
        "fresh again"
    );
}
