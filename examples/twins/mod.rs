//! Rust twins of well-known Python resilience code, for `MIGRATING.md`.

pub mod http_retry;
mod schedule;

pub use schedule::Schedule;
