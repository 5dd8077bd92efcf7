use resilience_runtime::timeout;

#[derive(Debug)]
enum ApiError {
    NotFound,
}

#[timeout(after = "2s")]
async fn fetch(id: u64) -> Result<u64, ApiError> {
    if id == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(id)
}

fn main() {}
