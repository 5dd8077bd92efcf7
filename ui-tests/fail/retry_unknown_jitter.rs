use resilience_runtime::retry;

#[retry(jitter = "decorrelated")]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
