use resilience_runtime::retry;

#[retry(max = 0)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
