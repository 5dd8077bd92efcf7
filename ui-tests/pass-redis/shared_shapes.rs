//! Shared caches and breakers with the `redis` feature: values and keys
//! with serde's derives, async and sync, inline and background refresh.

use resilience_runtime::{breaker, stale_cache};
use serde::{Deserialize, Serialize};

#[derive(Debug)]
struct ApiError;

impl From<resilience_runtime::CircuitOpen> for ApiError {
    fn from(_: resilience_runtime::CircuitOpen) -> Self {
        ApiError
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Profile {
    name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
struct UserId(u64);

#[stale_cache(maxage = 3, tolerance = 15, shared = true)]
async fn profile(user_id: UserId) -> Result<Profile, ApiError> {
    Ok(Profile { name: user_id.0.to_string() })
}

#[stale_cache(maxage = 3, tolerance = 15, shared = true, refresh = "background", name = "profiles", version = 2)]
fn profile_blocking(user_id: u64) -> Result<Profile, ApiError> {
    Ok(Profile { name: user_id.to_string() })
}

#[breaker(name = "profile-service", shared = true)]
async fn call_upstream(user_id: u64) -> Result<u64, ApiError> {
    Ok(user_id)
}

// Sync, and opened for the fleet by three replicas' word.
#[breaker(name = "ledger", shared = true, quorum = 3)]
fn post_entry(amount: u64) -> Result<u64, ApiError> {
    Ok(amount)
}

fn main() {
    let _ = profile_blocking(1);
    let _ = post_entry(1);
    let _ = (profile(UserId(1)), call_upstream(1));
}
