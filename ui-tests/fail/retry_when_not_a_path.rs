use resilience_runtime::retry;

fn is_transient(_: &String) -> bool {
    true
}

#[retry(when = |error: &String| error.is_empty())]
fn closure() -> Result<(), String> {
    Ok(())
}

#[retry(when = "is_transient")]
fn quoted() -> Result<(), String> {
    Ok(())
}

fn main() {}
