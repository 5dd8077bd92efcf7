//! `#[timeout]` on every async function shape, alone and stacked, with every warning denied.
#![deny(warnings, clippy::all)]

use std::fmt::Display;

use resilience_runtime::{CircuitOpen, TimedOut, breaker, fallback, retry, timeout};

#[derive(Debug)]
pub enum ApiError {
    Down,
    TimedOut(TimedOut),
    Open(CircuitOpen),
}

impl From<TimedOut> for ApiError {
    fn from(timed_out: TimedOut) -> Self {
        ApiError::TimedOut(timed_out)
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[timeout(after = 2)]
pub async fn seconds_as_a_number(id: u64) -> ApiResult<u64> {
    Ok(id)
}

#[timeout(after = "250ms")]
pub async fn borrowed<'a>(name: &'a str, buffer: &mut Vec<u8>) -> ApiResult<&'a str> {
    buffer.push(1);
    Ok(name)
}

#[timeout(after = 0.5)]
pub async fn generic<T: Display + Send>(value: T, _: u8) -> ApiResult<String> {
    Ok(value.to_string())
}

#[timeout(after = "1s")]
pub async fn impl_trait(value: impl Display, (a, b): (u8, u8)) -> ApiResult<String> {
    Ok(format!("{value}{a}{b}"))
}

#[timeout(after = "1s")]
pub async fn io_result(path: &str) -> std::io::Result<String> {
    Ok(path.to_owned())
}

pub async fn offline(_: String, _: ApiError) -> ApiResult<String> {
    Ok(String::new())
}

#[fallback(fn = offline)]
#[breaker(name = "pass-timeout")]
#[retry(max = 3)]
#[timeout(after = "2s")]
pub async fn documented_order(mut user_id: String) -> ApiResult<String> {
    user_id.push('!');
    if user_id.is_empty() {
        return Err(ApiError::Down);
    }
    Ok(user_id)
}

#[timeout(after = "10s")]
#[retry(max = 3)]
pub async fn whole_call(user_id: String) -> ApiResult<String> {
    Ok(user_id)
}

pub struct Client(u32);

impl Client {
    #[timeout(after = "1s")]
    pub async fn shared(&self) -> ApiResult<u32> {
        Ok(self.0)
    }

    #[retry(max = 2)]
    #[timeout(after = "1s")]
    pub async fn unique(&mut self, by: u32) -> ApiResult<u32> {
        self.0 += by;
        Ok(self.0)
    }

    #[timeout(after = "1s")]
    pub async fn owned(self) -> ApiResult<u32> {
        Ok(self.0)
    }
}

fn main() {
    let _ = (ApiError::Down, ApiError::Open, ApiError::TimedOut);
}

pub mod under_a_cache {
    use resilience_runtime::{stale_cache, timeout};

    use super::ApiResult;

    #[stale_cache(maxage = 3, tolerance = 15)]
    #[timeout(after = "2s")]
    pub async fn inline(user_id: String) -> ApiResult<String> {
        Ok(user_id)
    }

    #[stale_cache(maxage = 3, tolerance = 15, refresh = "background")]
    #[timeout(after = "2s")]
    pub async fn background(user_id: String, shard: u16) -> ApiResult<String> {
        Ok(format!("{user_id}{shard}"))
    }
}
