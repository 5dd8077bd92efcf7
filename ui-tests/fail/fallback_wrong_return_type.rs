use resilience_runtime::fallback;

fn cached(id: u32, _: String) -> Option<u32> {
    Some(id)
}

#[fallback(fn = cached)]
fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

fn main() {}
