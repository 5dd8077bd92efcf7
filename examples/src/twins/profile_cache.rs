//! Twin of the Python "return stale data on error" decorator's own example:
//! `fetch_user_profile`, failing two calls in three, behind
//! `@fallback_cache(maxage=3, stale_tolerance=15)` (with its default
//! `max_retries=2`).

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use resilience_runtime::stale_cache;
use tokio::time::Instant;

use super::Schedule;

/// What the upstream returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: String,
    pub name: String,
    /// When the upstream produced it.
    pub updated_at: Instant,
}

/// The upstream's failure.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionError;

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("network timeout or service unavailable")
    }
}

/// Whether each upstream call succeeds, in order; set by [`run`].
static UPSTREAM: Mutex<Option<Schedule<bool>>> = Mutex::new(None);

fn call_upstream(user_id: &str) -> Result<Profile, ConnectionError> {
    let upstream = UPSTREAM.lock().unwrap();
    let succeeds = upstream.as_ref().and_then(Schedule::next).unwrap_or(true);
    if !succeeds {
        return Err(ConnectionError);
    }
    Ok(Profile {
        id: user_id.to_string(),
        name: format!("User-{user_id}"),
        updated_at: Instant::now(),
    })
}

fn upstream_calls() -> u32 {
    UPSTREAM.lock().unwrap().as_ref().map_or(0, Schedule::calls)
}

/// `@fallback_cache(maxage=3, stale_tolerance=15)`; `retries = 2` is the default.
#[stale_cache(maxage = 3, tolerance = 15)]
pub async fn fetch_user_profile(user_id: String) -> Result<Profile, ConnectionError> {
    call_upstream(&user_id)
}

/// How one call was served.
#[derive(Debug, Clone, PartialEq)]
pub enum Served {
    /// From the cache, younger than `maxage`: no upstream call.
    Fresh,
    /// By the upstream, after this many attempts.
    Loaded { attempts: u32 },
    /// The refresh failed (after its retries); the cached value, this many seconds old.
    Stale { age_secs: u64, attempts: u32 },
    /// The refresh failed and nothing young enough was cached.
    Failed { attempts: u32 },
}

impl fmt::Display for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Served::Fresh => f.write_str("fresh from the cache"),
            Served::Loaded { attempts } => {
                write!(f, "loaded from the upstream ({attempts} attempt(s))")
            }
            Served::Stale { age_secs, attempts } => {
                write!(
                    f,
                    "STALE, {age_secs} s old: the refresh failed {attempts} time(s)"
                )
            }
            Served::Failed { attempts } => {
                write!(f, "FAILED after {attempts} attempt(s), nothing to serve")
            }
        }
    }
}

/// Calls `fetch_user_profile("123")` every `every`, `calls` times, with
/// upstream calls succeeding as `upstream` says; what each call got, and when.
pub async fn run(
    upstream: Schedule<bool>,
    calls: usize,
    every: Duration,
) -> Vec<(Duration, Served)> {
    *UPSTREAM.lock().unwrap() = Some(upstream);
    let started = Instant::now();
    let mut served = Vec::new();
    for _ in 0..calls {
        let at = started.elapsed();
        let before = upstream_calls();
        let result = fetch_user_profile("123".to_string()).await;
        let attempts = upstream_calls() - before;
        served.push((
            at,
            match result {
                Ok(_) if attempts == 0 => Served::Fresh,
                Ok(profile) if profile.updated_at.elapsed() < Duration::from_millis(1) => {
                    Served::Loaded { attempts }
                }
                Ok(profile) => Served::Stale {
                    age_secs: profile.updated_at.elapsed().as_secs(),
                    attempts,
                },
                Err(ConnectionError) => Served::Failed { attempts },
            },
        ));
        tokio::time::sleep(every).await;
    }
    served
}
