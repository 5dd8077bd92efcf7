//! Quick start: all four attributes on a flaky upstream that fails two calls
//! in three, as in the Python original our users migrate from.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! Each request prints which layer answered it: the upstream (after how many
//! attempts), the cache (fresh or stale), or the fallback (and why).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::breaker::registry;
use resilience_runtime::{CircuitOpen, breaker, fallback, retry, stale_cache};
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Profile {
    name: String,
    /// When the upstream produced it; `None` for a placeholder.
    loaded_at: Option<Instant>,
    /// Why the fallback answered, for a placeholder.
    fallback_reason: Option<String>,
}

#[derive(Debug)]
enum ApiError {
    Timeout,
    CircuitOpen(CircuitOpen),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Timeout => f.write_str("network timeout or service unavailable"),
            ApiError::CircuitOpen(open) => open.fmt(f),
        }
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::CircuitOpen(open)
    }
}

/// The simulated upstream: each call fails with probability 2/3, from a
/// seeded generator so every run tells the same story.
static RNG: Mutex<Option<fastrand::Rng>> = Mutex::new(None);
static UPSTREAM_CALLS: AtomicU32 = AtomicU32::new(0);

fn call_upstream(user_id: &str) -> Result<Profile, ApiError> {
    UPSTREAM_CALLS.fetch_add(1, Ordering::SeqCst);
    let mut rng = RNG.lock().unwrap();
    if rng
        .get_or_insert_with(|| fastrand::Rng::with_seed(8))
        .u8(0..3)
        < 2
    {
        return Err(ApiError::Timeout);
    }
    Ok(Profile {
        name: format!("User-{user_id}"),
        loaded_at: Some(Instant::now()),
        fallback_reason: None,
    })
}

/// The last resort: a placeholder that says why it was needed.
async fn placeholder_profile(user_id: String, error: ApiError) -> Result<Profile, ApiError> {
    Ok(Profile {
        name: format!("Guest-{user_id}"),
        loaded_at: None,
        fallback_reason: Some(error.to_string()),
    })
}

/// Read from the top: the fallback answers when nothing below can; stale
/// data (up to 3 s old) is served when a refresh fails; the breaker stops
/// calling the upstream when most calls fail; each call gets 3 attempts.
#[fallback(fn = placeholder_profile)]
#[stale_cache(maxage = "300ms", tolerance = 3, retries = 0)]
#[breaker(
    name = "profile-service",
    min_calls = 4,
    failure_rate = 0.5,
    open_for = "1s"
)]
#[retry(max = 3, backoff = "exp", delay = "20ms")]
async fn fetch_user_profile(user_id: String) -> Result<Profile, ApiError> {
    call_upstream(&user_id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let started = Instant::now();
    let mut answered_by = std::collections::BTreeMap::<&str, u32>::new();
    for request in 0..24 {
        let user = ["ada", "bob"][request % 2];
        let calls_before = UPSTREAM_CALLS.load(Ordering::SeqCst);
        let profile = fetch_user_profile(user.to_string())
            .await
            .expect("the fallback always answers");
        let attempts = UPSTREAM_CALLS.load(Ordering::SeqCst) - calls_before;
        let (layer, detail) = match (profile.loaded_at, &profile.fallback_reason) {
            (None, reason) => (
                "fallback",
                format!("because: {}", reason.as_deref().unwrap_or_default()),
            ),
            (Some(loaded), _) if loaded.elapsed() < Duration::from_millis(1) => (
                "upstream",
                format!(
                    "after {attempts} attempt{}",
                    if attempts == 1 { "" } else { "s" }
                ),
            ),
            (Some(loaded), _) if loaded.elapsed() < Duration::from_millis(300) => (
                "cache",
                format!("fresh, {} ms old", loaded.elapsed().as_millis()),
            ),
            (Some(loaded), _) => {
                let why = if attempts == 0 {
                    "breaker open"
                } else {
                    "refresh failed"
                };
                (
                    "stale cache",
                    format!("{} ms old ({why})", loaded.elapsed().as_millis()),
                )
            }
        };
        *answered_by.entry(layer).or_default() += 1;
        let breaker = registry()
            .get("profile-service")
            .map(|b| b.state().to_string())
            .unwrap_or_default();
        println!(
            "t={:>4} ms  {user}: {:<9} <- {layer:<11} {detail}  [breaker {breaker}]",
            started.elapsed().as_millis(),
            profile.name,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let summary: Vec<String> = answered_by
        .iter()
        .map(|(layer, n)| format!("{n} by {layer}"))
        .collect();
    println!(
        "\n24 requests answered: {}; {} upstream calls; no request failed.",
        summary.join(", "),
        UPSTREAM_CALLS.load(Ordering::SeqCst)
    );
}
