//! `#[breaker(key = ..)]` on every function shape, alone and stacked, with every warning denied.
#![deny(warnings, clippy::all)]

use resilience_runtime::{CircuitOpen, TimedOut, breaker, retry, timeout};

#[derive(Debug)]
pub enum ApiError {
    Down,
    Open(CircuitOpen),
    TimedOut(TimedOut),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

impl From<TimedOut> for ApiError {
    fn from(timed_out: TimedOut) -> Self {
        ApiError::TimedOut(timed_out)
    }
}

#[breaker(name = "pass-keyed-str", key = host)]
pub fn by_str(host: &str, path: &str) -> Result<String, ApiError> {
    Ok(format!("{host}{path}"))
}

#[breaker(name = "pass-keyed-string", key = host, max_keys = 10_000, min_calls = 5)]
pub async fn by_string(host: String) -> Result<String, ApiError> {
    Ok(host)
}

#[breaker(name = "pass-keyed-expr", key = url.split('/').next().unwrap_or_default())]
pub async fn by_expression(url: &str) -> Result<usize, ApiError> {
    Ok(url.len())
}

#[breaker(name = "pass-keyed-bytes", key = prefix)]
pub fn by_slice(prefix: &[u8]) -> Result<usize, ApiError> {
    Ok(prefix.len())
}

#[breaker(name = "pass-keyed-stack", key = (region.clone(), shard))]
#[retry(max = 3)]
#[timeout(after = "2s")]
pub async fn stacked(region: String, shard: u16) -> Result<u16, ApiError> {
    if region.is_empty() {
        return Err(ApiError::Down);
    }
    Ok(shard)
}

#[breaker(name = "pass-keyed-generic", key = id)]
pub fn generic<T: std::fmt::Display>(id: u64, value: T) -> Result<String, ApiError> {
    Ok(format!("{id}{value}"))
}

pub struct Client {
    host: String,
}

impl Client {
    #[breaker(name = "pass-keyed-self", key = self.host)]
    pub async fn get(&self, path: &str) -> Result<String, ApiError> {
        Ok(format!("{}{path}", self.host))
    }

    #[breaker(name = "pass-keyed-mut", key = &self.host)]
    pub fn bump(&mut self) -> Result<usize, ApiError> {
        self.host.push('!');
        Ok(self.host.len())
    }
}

fn main() {
    let _ = (ApiError::Down, ApiError::Open, ApiError::TimedOut);
}
