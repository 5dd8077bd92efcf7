// What `#[async_trait]` turns `async fn fetch(&self) -> Result<u32, String>`
// into before `#[retry]` sees it.
use std::future::Future;
use std::pin::Pin;

use resilience_runtime::retry;

struct Client;

impl Client {
    #[retry]
    fn fetch<'life0, 'async_trait>(
        &'life0 self,
    ) -> Pin<Box<dyn Future<Output = Result<u32, String>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { Ok(1) })
    }
}

fn main() {}
