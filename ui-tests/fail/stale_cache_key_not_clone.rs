use resilience_runtime::stale_cache;

#[derive(Hash, PartialEq, Eq)]
struct Query {
    id: u32,
}

#[stale_cache(retries = 0)]
fn search(query: Query) -> Result<u32, String> {
    Ok(query.id)
}

fn main() {}
