use resilience_runtime::retry;

#[retry(max = "3")]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
