use resilience_runtime::stale_cache;

#[derive(Clone, PartialEq)]
struct Query {
    radius: f64,
}

#[stale_cache(key = query.clone())]
async fn search(query: Query, limit: usize) -> Result<Vec<String>, String> {
    let _ = (query.radius, limit);
    Ok(Vec::new())
}

fn main() {}
