use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct Error;

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error
    }
}

#[breaker(name = "payments", min_calls = 0, half_open_calls = 0, window = 0)]
fn charge() -> Result<(), Error> {
    Ok(())
}

fn main() {}
