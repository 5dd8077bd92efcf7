//! `#[stale_cache]` on every shape it takes, and the full documented stack,
//! with every warning denied.
#![deny(warnings, clippy::all)]

use std::fmt::Display;

use resilience_runtime::{CircuitOpen, breaker, fallback, retry, stale_cache};

#[derive(Debug)]
pub enum ApiError {
    Down,
    Open(CircuitOpen),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
}

#[stale_cache(maxage = 3, tolerance = 15, retries = 2, capacity = 10_000, refresh = "inline")]
pub fn sync_config(env: &'static str) -> Result<String, ApiError> {
    Ok(env.to_string())
}

#[stale_cache(maxage = "500ms", tolerance = "1m", refresh = "background")]
pub async fn background(id: u64, tags: Vec<String>) -> Result<Profile, ApiError> {
    Ok(Profile { name: format!("{id}{}", tags.len()) })
}

#[stale_cache(refresh = "background", retries = 0)]
pub fn background_sync(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

// Loops inside loops: each inner loop goes on with the enclosing one's
// attempt, except across a background refresh, which is a call of its own.
#[retry(max = 2)]
#[stale_cache(refresh = "background", retries = 2)]
#[retry(max = 2)]
pub async fn nested_loops(id: u64, tags: Vec<String>) -> Result<u64, ApiError> {
    Ok(id + tags.len() as u64)
}

#[retry(max = 2)]
#[stale_cache(retries = 1)]
#[retry(max = 2)]
pub fn nested_loops_sync(id: u64, tags: Vec<String>) -> Result<u64, ApiError> {
    Ok(id + tags.len() as u64)
}

#[retry(max = 2)]
#[stale_cache(refresh = "background", retries = 1)]
#[retry(max = 2)]
pub fn nested_loops_background_sync(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

#[stale_cache(key = label.to_string())]
pub async fn keyed(label: impl Display + Clone + Send) -> Result<String, ApiError> {
    Ok(label.to_string())
}

pub async fn cached_profile(_: String, error: ApiError) -> Result<Profile, ApiError> {
    match error {
        ApiError::Open(_) | ApiError::Down => Ok(Profile { name: "cached".into() }),
    }
}

/// The documented order of all four.
#[fallback(fn = cached_profile)]
#[stale_cache(maxage = 3, tolerance = 15)]
#[breaker(name = "pass-profile-service")]
#[retry(max = 3, backoff = "exp")]
pub async fn fetch_user_profile(user_id: String) -> Result<Profile, ApiError> {
    if user_id.is_empty() {
        return Err(ApiError::Down);
    }
    Ok(Profile { name: user_id })
}

pub struct Profiles {
    region: String,
}

impl Profiles {
    #[stale_cache(key = (self.region.clone(), id))]
    pub async fn profile(&self, id: u64) -> Result<Profile, ApiError> {
        Ok(Profile { name: format!("{}/{id}", self.region) })
    }

    #[stale_cache(key = id)]
    pub fn unique(&mut self, id: u64) -> Result<u64, ApiError> {
        self.region.push('!');
        Ok(id)
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let _ = sync_config("prod");
    let _ = background_sync(1);
    require_send(&background(1, Vec::new()));
    require_send(&nested_loops(1, Vec::new()));
    let _ = nested_loops_sync(1, Vec::new());
    let _ = nested_loops_background_sync(1);
    require_send(&keyed("x"));
    require_send(&fetch_user_profile("ada".into()));
    let mut profiles = Profiles { region: "eu".into() };
    require_send(&profiles.profile(1));
    let _ = profiles.unique(2);
}
