//! Serve stale data on error: the runtime of `#[stale_cache]`.

mod config;

pub use config::{CacheConfig, Refresh};
