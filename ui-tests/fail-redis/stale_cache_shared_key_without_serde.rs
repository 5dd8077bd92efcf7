use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

// A key part that is hashed and compared, but not serde.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UserId(u64);

#[stale_cache(maxage = 3, tolerance = 15, shared = true)]
async fn fetch_user_profile(user_id: UserId) -> Result<String, ApiError> {
    Ok(user_id.0.to_string())
}

fn main() {}
