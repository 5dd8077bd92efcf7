use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "geocoder", consecutive = 5, failure_rate = 0.5, min_calls = 10)]
fn geocode() -> Result<(), Error> {
    Ok(())
}

#[breaker(name = "ledger", consecutive = 0)]
fn post() -> Result<(), Error> {
    Ok(())
}

fn main() {}
