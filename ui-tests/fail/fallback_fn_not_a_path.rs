use resilience_runtime::fallback;

#[fallback(fn = |id: u32, _: String| Ok(id))]
fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

fn main() {}
