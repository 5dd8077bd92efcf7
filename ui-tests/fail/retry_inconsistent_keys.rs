use resilience_runtime::retry;

#[retry(backoff = "fixed", factor = 3)]
fn fixed_with_factor() -> Result<(), String> {
    Ok(())
}

#[retry(backoff = "none", delay = 1)]
fn none_with_delay() -> Result<(), String> {
    Ok(())
}

#[retry(delay = 10, max_delay = 2)]
fn cap_below_delay() -> Result<(), String> {
    Ok(())
}

#[retry(factor = 0.5)]
fn shrinking() -> Result<(), String> {
    Ok(())
}

fn main() {}
