use resilience_runtime::stale_cache;

#[stale_cache(capacity = 0, refresh = "lazy", retries = -1)]
fn config(env: &'static str) -> Result<String, String> {
    Ok(env.to_string())
}

fn main() {}
