use resilience_runtime::retry;

#[retry(maxx = 3)]
fn fetch() -> Result<(), String> {
    Ok(())
}

fn main() {}
