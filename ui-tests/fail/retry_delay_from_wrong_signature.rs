use std::time::Duration;

use resilience_runtime::retry;

/// Reads the wait from a status code, but the function fails with a `String`.
fn retry_after(status: &u16) -> Option<Duration> {
    (*status == 429).then(|| Duration::from_secs(1))
}

#[retry(delay_from = retry_after)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
