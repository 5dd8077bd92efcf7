use resilience_runtime::{TimedOut, retry, timeout};

#[derive(Debug)]
struct ApiError;

impl From<TimedOut> for ApiError {
    fn from(_: TimedOut) -> Self {
        ApiError
    }
}

#[retry(max = 3)]
#[timeout(after = "2s")]
fn fetch(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

fn main() {}
