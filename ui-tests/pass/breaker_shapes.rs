//! `#[breaker]` on every function shape, alone and stacked, with every warning denied.
#![deny(warnings, clippy::all)]

use resilience_runtime::{CircuitOpen, breaker, fallback, retry};

#[derive(Debug)]
pub enum PayError {
    Down,
    Open(CircuitOpen),
}

impl From<CircuitOpen> for PayError {
    fn from(open: CircuitOpen) -> Self {
        PayError::Open(open)
    }
}

pub type PayResult<T> = Result<T, PayError>;

fn counts_as_failure(error: &PayError) -> bool {
    matches!(error, PayError::Down)
}

#[breaker(name = "pass-all-keys", failure_rate = 0.25, window = "30s", min_calls = 5, open_for = "1m", half_open_calls = 2, probe_timeout = "10s", when = counts_as_failure)]
pub fn every_key(amount: u64) -> PayResult<u64> {
    Ok(amount)
}

/// pybreaker's `fail_max`: failures in a row, in place of the rate rule.
#[breaker(name = "pass-in-a-row", consecutive = 5, window = "30s", open_for = "1m", when = counts_as_failure)]
pub fn in_a_row(amount: u64) -> PayResult<u64> {
    Ok(amount)
}

/// Client-side throttling: a share of calls rejected, never opened.
#[breaker(name = "pass-throttled", throttle = 2, window = "30s")]
pub async fn throttled(amount: u64) -> PayResult<u64> {
    Ok(amount)
}

pub async fn last_receipt(_: u64, _: PayError) -> PayResult<u64> {
    Ok(0)
}

#[fallback(fn = last_receipt)]
#[breaker(name = "pass-stacked")]
#[retry(max = 2)]
pub async fn stacked(amount: u64) -> PayResult<u64> {
    Ok(amount)
}

pub struct Gateway;

impl Gateway {
    #[breaker(name = "pass-method")]
    pub async fn charge<'a>(&self, card: &'a str) -> Result<&'a str, PayError> {
        Ok(card)
    }

    #[breaker(name = "pass-method")]
    pub fn consume(self) -> PayResult<()> {
        Ok(())
    }
}

fn require_send<T: Send>(_: &T) {}

fn main() {
    let _ = every_key(1);
    require_send(&stacked(1));
    require_send(&Gateway.charge("visa"));
    let _ = Gateway.consume();
}
