//! Service code as a user writes it from the README: every function shape
//! the README promises, each behind the attributes.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use resilience_runtime::{CircuitOpen, breaker, fallback, retry, stale_cache};

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Unavailable,
    BadInput(String),
    Open(&'static str),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unavailable => write!(f, "upstream unavailable"),
            ApiError::BadInput(text) => write!(f, "bad input: {text}"),
            ApiError::Open(name) => write!(f, "circuit {name} is open"),
        }
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open.name())
    }
}

/// An alias of `Result`, as services have.
pub type ApiResult<T> = Result<T, ApiError>;

/// An upstream that fails its first `failures` calls.
pub struct Upstream {
    calls: AtomicU32,
    failures: AtomicU32,
}

impl Upstream {
    pub const fn failing(failures: u32) -> Self {
        Upstream {
            calls: AtomicU32::new(0),
            failures: AtomicU32::new(failures),
        }
    }

    pub fn set_failures(&self, failures: u32) {
        self.failures.store(failures, Ordering::SeqCst);
    }

    pub fn call(&self) -> ApiResult<u32> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if call <= self.failures.load(Ordering::SeqCst) {
            Err(ApiError::Unavailable)
        } else {
            Ok(call)
        }
    }

    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }
}

pub static PROFILES: Upstream = Upstream::failing(0);

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
}

async fn cached_profile(user_id: String, _error: ApiError) -> Result<Profile, ApiError> {
    Ok(Profile {
        name: format!("guest {user_id}"),
    })
}

/// The README's example: an async free function, an owned argument, all four.
#[fallback(fn = cached_profile)]
#[stale_cache(maxage = 3, tolerance = 15, retries = 0)]
#[breaker(name = "profile-service")]
#[retry(max = 3, backoff = "exp", delay = 0.5)]
pub async fn fetch_user_profile(user_id: String) -> Result<Profile, ApiError> {
    PROFILES.call()?;
    Ok(Profile {
        name: format!("user {user_id}"),
    })
}

pub static INVENTORY: Upstream = Upstream::failing(0);

/// A slow schedule: a minute between attempts.
#[retry(max = 2, backoff = "fixed", delay = "1m")]
pub async fn refresh_inventory(warehouse: u32) -> ApiResult<u32> {
    INVENTORY.call()?;
    Ok(warehouse * 100)
}

/// A sync function on `&'static str`, cached.
#[stale_cache(maxage = 5, tolerance = 30, retries = 0)]
pub fn load_config(env: &'static str) -> ApiResult<String> {
    Ok(format!("config of {env}"))
}

/// Generics, a borrowed argument and an alias of `Result`.
#[retry(max = 2, backoff = "none")]
pub fn parse<T: FromStr>(text: &str) -> ApiResult<T> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::BadInput(text.to_string()))
}

/// An `impl Trait` argument: owned, so `+ Clone` (each attempt has its own).
#[retry(max = 3, backoff = "fixed", delay = "10ms")]
pub async fn notify(channel: impl Into<String> + Clone, text: &str) -> ApiResult<String> {
    let channel: String = channel.into();
    Ok(format!("#{channel}: {text}"))
}

/// A lifetime: the result borrows from the argument.
#[retry(max = 2, backoff = "none")]
pub fn first_word<'a>(text: &'a str) -> ApiResult<&'a str> {
    text.split_whitespace()
        .next()
        .ok_or_else(|| ApiError::BadInput(text.to_string()))
}

/// `std::io::Result` under a breaker: the crate ships `From<CircuitOpen>`
/// for `std::io::Error`.
#[breaker(name = "disk")]
pub fn read_file(path: &std::path::Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Methods: `&self` async, `&mut self` sync.
pub struct Client {
    pub upstream: Upstream,
    pub requests: u32,
}

impl Client {
    #[breaker(name = "orders")]
    #[retry(max = 3, delay = "100ms")]
    pub async fn order(&self, id: u64) -> ApiResult<String> {
        let call = self.upstream.call()?;
        Ok(format!("order {id} (call {call})"))
    }

    #[retry(max = 3, backoff = "none")]
    pub fn next_request(&mut self) -> ApiResult<u32> {
        self.requests += 1;
        self.upstream.call()
    }
}
