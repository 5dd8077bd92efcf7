//! The one clock every time measurement reads.
//!
//! `tokio::time::Instant` is `std::time::Instant` outside a runtime, and
//! follows a paused runtime's clock inside one (with tokio's `test-util`), so
//! backoff, breaker windows and cache ages are all driven by
//! `tokio::time::pause()` / `advance()` in tests.

pub(crate) use tokio::time::Instant;

/// The current instant on the one clock.
#[inline]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Whole milliseconds, saturating: the unit of every `*_ms` event field.
#[inline]
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
