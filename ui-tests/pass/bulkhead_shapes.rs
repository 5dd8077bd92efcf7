//! `#[bulkhead]` on every function shape, alone and stacked, with every warning denied.
#![deny(warnings)]

use resilience_runtime::{BulkheadFull, CircuitOpen, breaker, bulkhead, fallback, retry};

#[derive(Debug)]
pub enum ApiError {
    Busy,
    Open,
}

impl From<BulkheadFull> for ApiError {
    fn from(_: BulkheadFull) -> Self {
        ApiError::Busy
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

#[bulkhead(max_concurrent = 4)]
pub fn sync_fn(rows: u32) -> Result<u32, ApiError> {
    Ok(rows)
}

#[bulkhead(max_concurrent = 4, max_wait = "50ms", name = "pass-search")]
pub async fn async_fn(query: String) -> Result<String, ApiError> {
    Ok(query)
}

/// `std::io::Error` converts from `BulkheadFull` as it is.
#[bulkhead(max_concurrent = 1, max_wait = 0.05)]
pub async fn io_fn(path: &str) -> std::io::Result<usize> {
    Ok(path.len())
}

pub struct Client;

impl Client {
    #[bulkhead(max_concurrent = 2)]
    pub async fn method(&self, id: u64) -> Result<u64, ApiError> {
        Ok(id)
    }
}

pub async fn busy(_: u64, _: ApiError) -> Result<u64, ApiError> {
    Ok(0)
}

/// The documented stack.
#[fallback(fn = busy)]
#[bulkhead(max_concurrent = 8, max_wait = "10ms")]
#[breaker(name = "pass-bulkhead-stack")]
#[retry(max = 2)]
pub async fn stacked(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

fn main() {
    let _ = ApiError::Open;
}
