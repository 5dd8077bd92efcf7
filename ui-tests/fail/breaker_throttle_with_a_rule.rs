use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "search", throttle = 2, consecutive = 5)]
fn search() -> Result<(), Error> {
    Ok(())
}

#[breaker(name = "suggest", throttle = 0.5)]
fn suggest() -> Result<(), Error> {
    Ok(())
}

fn main() {}
