use resilience_runtime::stale_cache;

#[stale_cache(maxage = 30, tolerance = 10)]
fn config(env: &'static str) -> Result<String, String> {
    Ok(env.to_string())
}

#[stale_cache(maxage = "1m")]
fn above_default_tolerance(env: &'static str) -> Result<String, String> {
    Ok(env.to_string())
}

fn main() {}
