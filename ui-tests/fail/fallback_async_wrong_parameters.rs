use resilience_runtime::fallback;

async fn cached(id: u32) -> Result<u32, String> {
    Ok(id)
}

#[fallback(fn = cached)]
async fn fetch(id: u32, region: &str) -> Result<u32, String> {
    let _ = region;
    Ok(id)
}

fn main() {}
