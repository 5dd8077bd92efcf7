use resilience_runtime::retry;

#[retry(max = 3, delay = 1, max = 4)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
