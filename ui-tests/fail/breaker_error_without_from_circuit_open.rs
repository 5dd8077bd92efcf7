use resilience_runtime::breaker;

#[derive(Debug)]
enum PaymentError {
    Declined,
}

#[breaker(name = "payments")]
fn charge(amount: u64) -> Result<u64, PaymentError> {
    if amount == 0 {
        return Err(PaymentError::Declined);
    }
    Ok(amount)
}

fn main() {}
