use resilience_runtime::bulkhead;

#[bulkhead(max_wait = "50ms")]
fn no_limit() -> Result<(), std::io::Error> {
    Ok(())
}

#[bulkhead(max_concurrent = 0)]
fn zero() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
