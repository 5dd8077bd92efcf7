use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct PayError;

impl From<CircuitOpen> for PayError {
    fn from(_: CircuitOpen) -> Self {
        PayError
    }
}

#[breaker(name = "payments", shared = true, quorum = 0)]
fn charge(order: u32) -> Result<u32, PayError> {
    Ok(order)
}

fn main() {}
