use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

#[derive(Debug, Clone)]
struct Profile {
    name: String,
}

#[stale_cache(maxage = 3, tolerance = 15, shared = true, refresh = "background")]
fn fetch_user_profile(user_id: u64) -> Result<Profile, ApiError> {
    Ok(Profile { name: user_id.to_string() })
}

fn main() {}
