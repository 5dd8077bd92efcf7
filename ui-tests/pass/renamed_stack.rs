//! A stack written through a renamed path is one stack, expanded in the
//! written order, with no unused import left behind.
#![deny(warnings, clippy::all)]

use resilience_runtime as res;
use resilience_runtime::CircuitOpen;

#[derive(Debug)]
pub enum ApiError {
    Down,
    Open,
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

fn cached(_id: u32, _error: ApiError) -> Result<String, ApiError> {
    Ok("cached".into())
}

#[res::fallback(fn = cached, crate = res)]
#[res::breaker(name = "pass-renamed")]
#[res::retry(max = 2, backoff = "none")]
pub fn fetch(id: u32) -> Result<String, ApiError> {
    if id == 0 {
        return Err(ApiError::Down);
    }
    Ok(format!("user {id}"))
}

fn main() {
    assert_eq!(fetch(0).unwrap(), "cached");
    assert!(matches!(fetch(1), Ok(_)));
    let _ = ApiError::Open;
}
