use resilience_runtime::retry;

#[retry(max = 3)]
struct Client {
    url: String,
}

fn main() {}
