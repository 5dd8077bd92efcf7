use resilience_runtime::retry;

type Count = u32;

#[retry]
fn count() -> Count {
    1
}

fn main() {}
