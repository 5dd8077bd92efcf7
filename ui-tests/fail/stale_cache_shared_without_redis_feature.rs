use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

// The workspace builds the runtime without its `redis` feature.
#[stale_cache(maxage = 3, tolerance = 15, shared = true)]
async fn fetch_user_profile(user_id: String) -> Result<String, ApiError> {
    Ok(user_id)
}

fn main() {}
