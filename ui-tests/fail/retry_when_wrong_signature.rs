use resilience_runtime::retry;

fn is_transient(status: &u16) -> bool {
    *status >= 500
}

#[retry(when = is_transient)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
