use resilience_runtime::fallback;

#[fallback(when = is_transient)]
fn fetch(id: u32) -> Result<u32, String> {
    Ok(id)
}

fn is_transient(_: &String) -> bool {
    true
}

fn main() {}
