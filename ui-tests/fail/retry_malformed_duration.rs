use resilience_runtime::retry;

#[retry(delay = "2 secs")]
fn fetch() -> Result<(), String> {
    Ok(())
}

#[retry(max_delay = -1)]
fn negative() -> Result<(), String> {
    Ok(())
}

fn main() {}
