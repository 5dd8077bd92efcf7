use resilience_runtime::stale_cache;

#[stale_cache]
async fn quote(amount: f64) -> Result<String, String> {
    Ok(format!("{amount}"))
}

fn main() {}
