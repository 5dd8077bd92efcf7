use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct PayError;

impl From<CircuitOpen> for PayError {
    fn from(_: CircuitOpen) -> Self {
        PayError
    }
}

#[breaker(name = "payments", quorum = 2)]
fn charge(order: u32) -> Result<u32, PayError> {
    Ok(order)
}

#[breaker(name = "refunds", shared = false, quorum = 2)]
fn refund(order: u32) -> Result<u32, PayError> {
    Ok(order)
}

fn main() {}
