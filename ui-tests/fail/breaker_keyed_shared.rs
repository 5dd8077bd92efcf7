use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
pub struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "hosts", key = host, shared = true)]
fn fetch(host: &str) -> Result<String, Error> {
    Ok(host.to_owned())
}

fn main() {}
