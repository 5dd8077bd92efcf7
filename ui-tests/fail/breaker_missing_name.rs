use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(failure_rate = 0.5)]
fn charge() -> Result<(), Error> {
    Ok(())
}

fn main() {}
