use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

// `version` marks the value type of a shared cache's entries in Redis.
#[stale_cache(maxage = 3, version = 2)]
fn profile(user_id: u64) -> Result<String, ApiError> {
    Ok(user_id.to_string())
}

#[stale_cache(shared = true, version = 0)]
fn team(team_id: u64) -> Result<String, ApiError> {
    Ok(team_id.to_string())
}

fn main() {}
