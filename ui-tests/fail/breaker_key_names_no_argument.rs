use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct FetchError;

impl From<CircuitOpen> for FetchError {
    fn from(_: CircuitOpen) -> Self {
        FetchError
    }
}

const DEFAULT_HOST: &str = "a.example";

#[breaker(name = "hosts", key = DEFAULT_HOST)]
fn fetch(host: &str, path: &str) -> Result<String, FetchError> {
    Ok(format!("{host}{path}"))
}

#[breaker(name = "hosts", key = hots)]
fn fetch_typo(host: &str) -> Result<String, FetchError> {
    Ok(host.to_owned())
}

#[breaker(name = "status", key = "status")]
fn status() -> Result<String, FetchError> {
    Ok(String::new())
}

#[breaker(name = "hosts", max_keys = 10)]
fn ping(host: &str) -> Result<(), FetchError> {
    let _ = host;
    Ok(())
}

fn main() {}
