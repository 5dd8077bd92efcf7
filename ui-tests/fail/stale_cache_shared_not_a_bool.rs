use resilience_runtime::stale_cache;

#[derive(Debug)]
struct ApiError;

#[stale_cache(shared = "yes")]
fn load_config(env: &'static str) -> Result<String, ApiError> {
    Ok(env.to_string())
}

fn main() {}
