use resilience_runtime::stale_cache;

#[stale_cache]
fn config(env: &'static str) -> Option<String> {
    Some(env.to_string())
}

fn main() {}
