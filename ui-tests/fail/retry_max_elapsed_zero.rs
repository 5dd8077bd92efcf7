use resilience_runtime::retry;

#[retry(max = 3, max_elapsed = 0)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
