use resilience_runtime::retry;

#[retry(max)]
fn fetch() -> Result<(), String> {
    Ok(())
}

#[retry(max(3))]
fn called_like_a_function() -> Result<(), String> {
    Ok(())
}

fn main() {}
