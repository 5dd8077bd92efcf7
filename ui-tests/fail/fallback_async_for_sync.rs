use resilience_runtime::fallback;

async fn cached(id: u32, _: String) -> Result<u32, String> {
    Ok(id)
}

#[fallback(fn = cached)]
fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

fn main() {}
