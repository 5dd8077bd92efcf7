//! The fleet tier against a real `redis-server`: run with
//! `cargo test -p resilience-runtime --features redis`; with
//! `--features redis-tls`, `rediss://` against a TLS-only server too.
//!
//! Real I/O runs on real time, so these tests use real-time runtimes and
//! keep their waits short; ages are driven by the one clock where a test
//! pauses it.

// They call the cache through its deprecated methods, kept for one release:
// each forwards to the request API, so these tests run both.
#![allow(deprecated)]

mod server;

mod attributes;
mod auth;
mod breaker;
mod cache;
mod faults;
mod hostile;
mod keepalive;
mod proxy;
mod quorum;
#[cfg(feature = "redis-tls")]
mod tls;
