//! Rust twins of well-known Python resilience code, for `MIGRATING.md`.

pub mod http_retry;
pub mod payment_gateway;
pub mod profile_cache;
mod schedule;

pub use schedule::Schedule;
