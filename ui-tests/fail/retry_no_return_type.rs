use resilience_runtime::retry;

#[retry]
fn notify(_message: &str) {}

#[retry]
fn pair() -> (u32, u32) {
    (1, 2)
}

fn main() {}
