//! Every attribute over a body of one expression in braces, with every
//! warning denied: generated code must never raise a lint in the user's
//! crate (rustc's `unused_braces` once fired at such bodies, with a
//! suggestion that would not compile).
#![deny(warnings, clippy::all)]

use std::time::Duration;

use resilience_runtime::{CircuitOpen, TimedOut, breaker, fallback, retry, stale_cache, timeout};

#[derive(Debug, Clone)]
pub struct E;

impl From<CircuitOpen> for E {
    fn from(_: CircuitOpen) -> Self {
        E
    }
}

impl From<TimedOut> for E {
    fn from(_: TimedOut) -> Self {
        E
    }
}

fn unit_fallback(_: E) -> Result<(), E> {
    Ok(())
}

async fn unit_fallback_async(_: E) -> Result<(), E> {
    Ok(())
}

#[retry(max = 2)]
pub async fn retry_async() -> Result<(), E> { Err(E) }

#[retry(max = 2)]
pub fn retry_sync() -> Result<(), E> { Err(E) }

#[breaker(name = "one-expression")]
pub async fn breaker_async() -> Result<(), E> { Err(E) }

#[breaker(name = "one-expression-sync")]
pub fn breaker_sync() -> Result<(), E> { Err(E) }

#[fallback(fn = unit_fallback_async)]
pub async fn fallback_async() -> Result<(), E> { Err(E) }

#[fallback(fn = unit_fallback)]
pub fn fallback_sync() -> Result<(), E> { Err(E) }

#[stale_cache(maxage = 1)]
pub async fn stale_cache_async() -> Result<u32, E> { Err(E) }

#[stale_cache(maxage = 1)]
pub fn stale_cache_sync() -> Result<u32, E> { Err(E) }

#[timeout(after = 1)]
pub async fn timeout_async() -> Result<(), E> { Err(E) }

#[retry(max = 2)]
pub async fn retry_value() -> Result<u32, E> { Ok(1) }

#[retry(max = 2)]
pub fn retry_literal() -> Result<u32, E> { Ok(7) }

#[fallback(fn = unit_fallback)]
#[stale_cache(maxage = 1)]
#[breaker(name = "one-expression-stack")]
#[retry(max = 2)]
pub fn stack_sync() -> Result<(), E> { Err(E) }

pub fn unused() -> Duration {
    Duration::ZERO
}

fn main() {}
