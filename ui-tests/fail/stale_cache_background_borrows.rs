use resilience_runtime::stale_cache;

#[stale_cache(refresh = "background")]
async fn profile(id: &str) -> Result<String, String> {
    Ok(id.to_string())
}

fn main() {}
