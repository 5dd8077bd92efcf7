//! `#[fallback]`: the answer on an error, the predicate, methods, and the
//! order of a stack (top = outermost).

use std::sync::atomic::{AtomicU32, Ordering};

use resilience_runtime::{fallback, retry};

use crate::events::Recorder;
use crate::retry::ApiError;

fn is_transient(error: &ApiError) -> bool {
    matches!(error, ApiError::Unavailable(_))
}

fn cached_profile(user_id: String, error: ApiError) -> Result<String, ApiError> {
    Ok(format!("cached profile of {user_id} ({error})"))
}

#[fallback(fn = cached_profile)]
fn fetch_profile(user_id: String) -> Result<String, ApiError> {
    if user_id == "down" {
        Err(ApiError::Unavailable(1))
    } else {
        Ok(format!("profile of {user_id}"))
    }
}

#[test]
fn answers_with_the_fallback_only_on_an_error() {
    assert_eq!(fetch_profile("ada".into()), Ok("profile of ada".into()));
    assert_eq!(
        fetch_profile("down".into()),
        Ok("cached profile of down (503 on attempt 1)".into())
    );
}

#[test]
fn errors_the_predicate_rejects_pass_through_unchanged() {
    fn default_profile(_: u32, _: ApiError) -> Result<String, ApiError> {
        Ok("default".into())
    }
    #[fallback(fn = default_profile, when = is_transient)]
    fn fetch(id: u32) -> Result<String, ApiError> {
        if id == 0 {
            Err(ApiError::NotFound)
        } else {
            Err(ApiError::Unavailable(id))
        }
    }

    assert_eq!(fetch(0), Err(ApiError::NotFound));
    assert_eq!(fetch(1), Ok("default".into()));
}

#[tokio::test(start_paused = true)]
async fn async_functions_await_an_async_fallback() {
    async fn from_replica(id: u32, _: &str, error: ApiError) -> Result<String, ApiError> {
        tokio::task::yield_now().await;
        Ok(format!("replica {id} after {error}"))
    }
    #[fallback(fn = from_replica)]
    async fn from_primary(id: u32, region: &str) -> Result<String, ApiError> {
        let _ = region;
        Err(ApiError::Unavailable(id))
    }

    assert_eq!(
        from_primary(4, "eu").await,
        Ok("replica 4 after 503 on attempt 4".into())
    );
}

struct ProfileService {
    cache: Vec<String>,
    failures_seen: u32,
}

impl ProfileService {
    fn cached(&self, index: usize, _: ApiError) -> Result<String, ApiError> {
        self.cache.get(index).cloned().ok_or(ApiError::NotFound)
    }

    fn note_failure(&mut self, _: usize, error: ApiError) -> Result<String, ApiError> {
        self.failures_seen += 1;
        Err(error)
    }

    fn static_default(_: usize, _: ApiError) -> Result<String, ApiError> {
        Ok("static".into())
    }

    #[fallback(fn = Self::cached)]
    fn profile(&self, index: usize) -> Result<String, ApiError> {
        Err(ApiError::Unavailable(index as u32))
    }

    #[fallback(fn = Self::note_failure)]
    fn profile_mut(&mut self, index: usize) -> Result<String, ApiError> {
        Err(ApiError::Unavailable(index as u32))
    }

    #[fallback(fn = ProfileService::static_default)]
    fn profile_default(&self, index: usize) -> Result<String, ApiError> {
        Err(ApiError::Unavailable(index as u32))
    }
}

#[test]
fn a_fallback_on_self_receives_the_same_receiver() {
    let mut service = ProfileService {
        cache: vec!["cached zero".into()],
        failures_seen: 0,
    };
    assert_eq!(service.profile(0), Ok("cached zero".into()));
    assert_eq!(
        service.profile(5),
        Err(ApiError::NotFound),
        "the fallback's own error is returned"
    );
    assert_eq!(service.profile_mut(1), Err(ApiError::Unavailable(1)));
    assert_eq!(service.failures_seen, 1);
    assert_eq!(
        service.profile_default(2),
        Ok("static".into()),
        "a path not on `Self` gets no receiver"
    );
}

#[tokio::test(start_paused = true)]
async fn top_is_outermost_fallback_after_all_retries() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    async fn give_up(_: u32, _: ApiError) -> Result<u32, ApiError> {
        Ok(0)
    }
    #[fallback(fn = give_up)]
    #[retry(max = 3, backoff = "none")]
    async fn always_down(id: u32) -> Result<u32, ApiError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(ApiError::Unavailable(id))
    }

    assert_eq!(always_down(9).await, Ok(0));
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "the fallback answers once every retry has failed"
    );
}

#[tokio::test(start_paused = true)]
async fn top_is_outermost_retry_around_a_fallback_never_retries() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    async fn give_up(_: u32, _: ApiError) -> Result<u32, ApiError> {
        Ok(0)
    }
    #[retry(max = 3, backoff = "none")]
    #[fallback(fn = give_up)]
    async fn always_down(id: u32) -> Result<u32, ApiError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(ApiError::Unavailable(id))
    }

    assert_eq!(always_down(9).await, Ok(0));
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        1,
        "the inner fallback turned the error into a success"
    );
}

#[test]
fn each_fallback_is_a_warning_event() {
    let (recorder, _guard) = Recorder::install();
    let _ = fetch_profile("down".into());
    let events = recorder.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].level, tracing::Level::WARN);
    assert!(
        events[0]
            .field("function")
            .unwrap()
            .ends_with("::fetch_profile")
    );
    assert_eq!(events[0].field("error"), Some("503 on attempt 1"));
}
