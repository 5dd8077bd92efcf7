//! `max_bytes` on values the runtime weighs, and on one that weighs itself.
#![deny(warnings, clippy::all)]

use resilience_runtime::stale_cache;
use resilience_runtime::stale_cache::Weigh;

#[stale_cache(max_bytes = 64_000_000)]
fn blob(id: u32) -> Result<Vec<u8>, String> {
    Ok(vec![0; id as usize])
}

#[derive(Clone)]
struct Report {
    body: String,
}

impl Weigh for Report {
    fn weigh(&self) -> usize {
        self.body.weigh()
    }
}

#[stale_cache(maxage = 60, tolerance = 600, capacity = 100, max_bytes = 1_000_000)]
async fn report(id: u32) -> Result<Report, String> {
    Ok(Report { body: id.to_string() })
}

fn main() {
    let _ = blob(3);
    let _ = report(3);
}
