use resilience_runtime::stale_cache;

#[derive(Clone, PartialEq)]
struct Query {
    radius: f64,
}

#[stale_cache]
fn search(query: Query) -> Result<Vec<String>, String> {
    let _ = query.radius;
    Ok(Vec::new())
}

fn main() {}
