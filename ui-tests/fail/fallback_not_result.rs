use resilience_runtime::fallback;

fn zero(_: ()) -> u32 {
    0
}

#[fallback(fn = zero)]
fn fetch() -> u32 {
    1
}

fn main() {}
