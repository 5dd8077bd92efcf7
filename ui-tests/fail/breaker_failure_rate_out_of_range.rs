use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "payments", failure_rate = 1.5)]
fn above_one() -> Result<(), Error> {
    Ok(())
}

#[breaker(name = "payments", failure_rate = 0)]
fn zero() -> Result<(), Error> {
    Ok(())
}

fn main() {}
