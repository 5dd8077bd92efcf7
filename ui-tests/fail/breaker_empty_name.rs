use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "  ")]
fn charge() -> Result<(), Error> {
    Ok(())
}

#[breaker(name = payments)]
fn unquoted() -> Result<(), Error> {
    Ok(())
}

fn main() {}
