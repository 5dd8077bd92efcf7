use resilience_runtime::{CircuitOpen, breaker};

#[derive(Debug)]
struct PayError;

impl From<CircuitOpen> for PayError {
    fn from(_: CircuitOpen) -> Self {
        PayError
    }
}

// The workspace builds the runtime without its `redis` feature.
#[breaker(name = "payments", shared = true)]
async fn charge(order: u32) -> Result<u32, PayError> {
    Ok(order)
}

fn main() {}
