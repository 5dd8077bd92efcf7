use resilience_runtime::retry;

#[retry(max = 3, budget = " ")]
fn charge() -> Result<(), String> {
    Ok(())
}

#[retry(max = 3, budget = payments)]
fn unquoted() -> Result<(), String> {
    Ok(())
}

fn main() {}
