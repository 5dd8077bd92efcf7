use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct FetchError;

impl From<CircuitOpen> for FetchError {
    fn from(_: CircuitOpen) -> Self {
        FetchError
    }
}

#[derive(Clone, PartialEq)]
struct Endpoint {
    host: String,
}

#[breaker(name = "endpoints", key = endpoint)]
fn fetch(endpoint: Endpoint) -> Result<String, FetchError> {
    Ok(endpoint.host)
}

fn main() {}
