use resilience_runtime::retry;

/// Takes the job by value: `when_ok` is handed a reference.
fn is_pending(job: u32) -> bool {
    job == 0
}

#[retry(when_ok = is_pending)]
fn poll_job() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
