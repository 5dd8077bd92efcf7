use std::future::Future;

use resilience_runtime::retry;

#[retry(max = 3)]
fn fetch(id: u32) -> impl Future<Output = Result<u32, String>> + Send {
    async move { Ok(id) }
}

fn main() {}
