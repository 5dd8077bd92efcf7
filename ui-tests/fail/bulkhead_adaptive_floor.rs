use resilience_runtime::bulkhead;

#[bulkhead(max_concurrent = 10, min_concurrent = 2)]
fn not_adaptive() -> Result<(), std::io::Error> {
    Ok(())
}

#[bulkhead(max_concurrent = 10, min_concurrent = 20, adaptive = true)]
fn floor_above() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
