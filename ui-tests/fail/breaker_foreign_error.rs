use resilience_runtime::breaker;

#[breaker(name = "formatter")]
fn render(width: usize) -> Result<String, std::fmt::Error> {
    Ok(" ".repeat(width))
}

fn main() {}
