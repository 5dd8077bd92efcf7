use resilience_runtime::retry;

#[derive(Debug)]
struct NoFrom;

fn is_transient(error: NoFrom) -> bool {
    let _ = error;
    true
}

#[retry(when = is_transient)]
fn fetch() -> Result<(), NoFrom> {
    Err(NoFrom)
}

fn main() {}
