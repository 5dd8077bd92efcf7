//! Twin of the pybreaker classic: a payment gateway behind a breaker that
//! opens at 50 % failures over 10 s, stays open 60 s, and answers from a
//! fallback (queue the payment for later) instead of an error.
//!
//! ```python
//! gateway = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=60)
//!
//! def charge(order_id, cents):
//!     try:
//!         return gateway.call(psp.charge, order_id, cents)
//!     except (pybreaker.CircuitBreakerError, PSPError) as error:
//!         return queue_for_later(order_id, cents, error)
//! ```

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use resilience_runtime::{CircuitOpen, breaker, fallback};
use tokio::time::Instant;

use super::Schedule;

/// What a charge ends as.
#[derive(Debug, Clone, PartialEq)]
pub enum Receipt {
    Charged {
        order: u32,
    },
    /// Queued by the fallback, with why.
    Queued {
        order: u32,
        reason: String,
    },
}

/// Why the payment service did not charge.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentError {
    Timeout,
    CircuitOpen { retry_after: Duration },
}

impl fmt::Display for PaymentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaymentError::Timeout => f.write_str("payment service timed out"),
            PaymentError::CircuitOpen { retry_after } => {
                write!(f, "breaker open, next probe in {}s", retry_after.as_secs())
            }
        }
    }
}

impl From<CircuitOpen> for PaymentError {
    fn from(open: CircuitOpen) -> Self {
        PaymentError::CircuitOpen {
            retry_after: open.retry_after(),
        }
    }
}

/// Whether each call to the payment service succeeds; set by [`run`].
static PSP: Mutex<Option<Schedule<bool>>> = Mutex::new(None);

fn psp_calls() -> u32 {
    PSP.lock().unwrap().as_ref().map_or(0, Schedule::calls)
}

/// The fallback: accept the order and charge it later.
pub async fn queue_for_later(
    order: u32,
    _cents: u64,
    error: PaymentError,
) -> Result<Receipt, PaymentError> {
    Ok(Receipt::Queued {
        order,
        reason: error.to_string(),
    })
}

/// Opens when more than half of at least 4 calls in 10 s failed; open 60 s.
#[fallback(fn = queue_for_later)]
#[breaker(
    name = "payment-gateway",
    failure_rate = 0.5,
    window = 10,
    min_calls = 4,
    open_for = 60
)]
pub async fn charge(order: u32, cents: u64) -> Result<Receipt, PaymentError> {
    let _ = cents;
    let succeeds = PSP
        .lock()
        .unwrap()
        .as_ref()
        .and_then(Schedule::next)
        .unwrap_or(true);
    if succeeds {
        Ok(Receipt::Charged { order })
    } else {
        Err(PaymentError::Timeout)
    }
}

/// One charge: when, what came back, and whether the payment service was called.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub at_secs: u64,
    pub receipt: Receipt,
    pub reached_psp: bool,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reached = if self.reached_psp {
            "called the PSP"
        } else {
            "PSP not called"
        };
        match &self.receipt {
            Receipt::Charged { order } => write!(
                f,
                "t={:>3} s  order {order:>2}: charged ({reached})",
                self.at_secs
            ),
            Receipt::Queued { order, reason } => {
                write!(
                    f,
                    "t={:>3} s  order {order:>2}: queued for later — {reason} ({reached})",
                    self.at_secs
                )
            }
        }
    }
}

/// Charges orders 1, 2, 3… every `every`, the payment service answering as
/// `psp` says, until `until` has passed.
pub async fn run(psp: Schedule<bool>, every: Duration, until: Duration) -> Vec<Attempt> {
    *PSP.lock().unwrap() = Some(psp);
    let started = Instant::now();
    let mut attempts = Vec::new();
    let mut order = 1;
    while started.elapsed() <= until {
        let at_secs = started.elapsed().as_secs();
        let before = psp_calls();
        let receipt = charge(order, 1999)
            .await
            .expect("the fallback always answers");
        attempts.push(Attempt {
            at_secs,
            receipt,
            reached_psp: psp_calls() > before,
        });
        order += 1;
        tokio::time::sleep(every).await;
    }
    attempts
}
