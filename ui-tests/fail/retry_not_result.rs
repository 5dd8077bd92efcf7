use resilience_runtime::retry;

#[retry]
fn count() -> u32 {
    1
}

fn main() {}
