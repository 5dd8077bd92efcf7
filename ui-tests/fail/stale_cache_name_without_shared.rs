use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

// `name` is the identity of a shared cache's entries in Redis.
#[stale_cache(maxage = 3, name = "profiles")]
fn profile(user_id: u64) -> Result<String, ApiError> {
    Ok(user_id.to_string())
}

#[stale_cache(shared = true, name = "")]
fn team(team_id: u64) -> Result<String, ApiError> {
    Ok(team_id.to_string())
}

#[stale_cache(shared = true, name = profiles)]
fn group(group_id: u64) -> Result<String, ApiError> {
    Ok(group_id.to_string())
}

fn main() {}
