//! `#[fallback]` on every function shape, stacked with `#[retry]`, with every warning denied.
#![deny(warnings, clippy::all)]

use resilience_runtime::{fallback, retry};

#[derive(Debug, Clone)]
pub struct ApiError;

fn is_transient(_: &ApiError) -> bool {
    true
}

fn cached(id: u64, _: ApiError) -> Result<u64, ApiError> {
    Ok(id)
}

async fn cached_async(id: u64, _: &str, _: ApiError) -> Result<u64, ApiError> {
    Ok(id)
}

#[fallback(fn = cached, when = is_transient)]
pub fn sync_free(id: u64) -> Result<u64, ApiError> {
    Ok(id)
}

#[fallback(fn = cached_async)]
#[retry(max = 2)]
pub async fn async_stacked(id: u64, region: &str) -> Result<u64, ApiError> {
    let _ = region;
    Ok(id)
}

pub struct Service {
    hits: u32,
}

impl Service {
    fn last_known(&mut self, _: ApiError) -> Result<u32, ApiError> {
        Ok(self.hits)
    }

    async fn last_known_async(&self, _: ApiError) -> Result<u32, ApiError> {
        Ok(self.hits)
    }

    #[fallback(fn = Self::last_known)]
    pub fn unique(&mut self) -> Result<u32, ApiError> {
        self.hits += 1;
        Ok(self.hits)
    }

    #[retry]
    #[fallback(fn = Self::last_known_async)]
    pub async fn shared(&self) -> Result<u32, ApiError> {
        Ok(self.hits)
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let _ = sync_free(1);
    let mut service = Service { hits: 0 };
    let _ = service.unique();
    require_send(&async_stacked(1, "eu"));
    require_send(&service.shared());
}
