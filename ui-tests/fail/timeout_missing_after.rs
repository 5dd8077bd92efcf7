use resilience_runtime::{TimedOut, timeout};

#[derive(Debug)]
struct ApiError;

impl From<TimedOut> for ApiError {
    fn from(_: TimedOut) -> Self {
        ApiError
    }
}

#[timeout]
async fn fetch(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

#[timeout(after = 0)]
async fn never(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

fn main() {}
