use resilience_runtime::breaker;

#[breaker(name = "payments")]
fn charge() -> bool {
    true
}

fn main() {}
