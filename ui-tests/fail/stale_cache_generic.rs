use resilience_runtime::stale_cache;

#[stale_cache]
fn parse<T: std::str::FromStr + Clone + Send + Sync + 'static>(text: String) -> Result<T, String> {
    text.parse().map_err(|_| text.clone())
}

fn main() {}
