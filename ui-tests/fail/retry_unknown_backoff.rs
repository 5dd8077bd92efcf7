use resilience_runtime::retry;

#[retry(backoff = "expo")]
fn fetch() -> Result<(), String> {
    Ok(())
}

#[retry(backoff = exp)]
fn unquoted() -> Result<(), String> {
    Ok(())
}

fn main() {}
