use resilience_runtime::stale_cache;

#[stale_cache(max_bytes = "64MB")]
fn quoted(id: u32) -> Result<Vec<u8>, String> {
    Ok(vec![0; id as usize])
}

#[stale_cache(max_bytes = 0)]
fn zero(id: u32) -> Result<Vec<u8>, String> {
    Ok(vec![0; id as usize])
}

#[derive(Clone)]
struct Report {
    body: Vec<u8>,
}

/// A value type the cache cannot weigh: no `Weigh` impl.
#[stale_cache(max_bytes = 1_000_000)]
fn report(id: u32) -> Result<Report, String> {
    Ok(Report { body: vec![0; id as usize] })
}

fn main() {
    let _ = (quoted(1), zero(1), report(1).map(|r| r.body));
}
