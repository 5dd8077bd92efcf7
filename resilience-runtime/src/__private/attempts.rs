//! The retry loop's bookkeeping, driven by the loop `#[retry]` generates.
//!
//! The loop itself lives in the decorated function (each attempt must
//! reborrow `&mut self` and the arguments afresh, which a closure-taking
//! runtime function cannot express); this type decides whether to go on, how
//! long to wait, and emits the events. Each retry is counted here, once:
//! `retry_attempts_total` and the recovery scope's retry count.

use std::fmt::Display;
use std::time::Duration;

use crate::clock::{self, Instant};
use crate::retry_policy::RetryPolicy;

/// The state of one decorated call: which attempt it is on.
pub struct Attempts {
    policy: &'static RetryPolicy,
    function: &'static str,
    attempt: u32,
    /// Read only when an event could be recorded: the healthy call of an
    /// unobserved function reads no clock.
    started: Option<Instant>,
}

impl Attempts {
    /// Starts the first attempt of a call.
    #[inline]
    pub fn start(policy: &'static RetryPolicy, function: &'static str) -> Self {
        let observed = tracing::enabled!(target: "resilience", tracing::Level::ERROR);
        Self {
            policy,
            function,
            attempt: 1,
            started: observed.then(clock::now),
        }
    }

    /// The attempt now running, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The current attempt succeeded.
    #[inline]
    pub fn succeeded(&self) {
        if self.attempt > 1 {
            self.recovered();
        }
    }

    /// The current attempt failed with `error`; `retryable` is the verdict of
    /// the `when` predicate. Returns the wait before the next attempt, or
    /// `None` when the error is to be returned as it is. A retry is counted
    /// (metrics, recovery scope) when the wait is handed out.
    pub fn failed(&mut self, error: &dyn Display, retryable: bool) -> Option<Duration> {
        let (function, attempt) = (self.function, self.attempt);
        let max_attempts = self.policy.max_attempts_value();
        let elapsed_ms = self.elapsed_ms();
        if !retryable {
            tracing::info!(
                target: "resilience", function, attempt, max_attempts, error = %error, elapsed_ms,
                outcome = "not_retried", "error not retried: the `when` predicate rejected it"
            );
            return None;
        }
        if attempt >= max_attempts {
            tracing::error!(
                target: "resilience", function, attempt, max_attempts, error = %error, elapsed_ms,
                outcome = "exhausted", "giving up: every attempt failed"
            );
            return None;
        }
        let delay = self.policy.jittered_delay(attempt);
        crate::meters::count_retry(function);
        crate::recovery::retried();
        tracing::warn!(
            target: "resilience", function, attempt, max_attempts, error = %error,
            delay_ms = clock::millis(delay), elapsed_ms, "attempt failed, retrying"
        );
        self.attempt += 1;
        Some(delay)
    }

    #[cold]
    fn recovered(&self) {
        tracing::info!(
            target: "resilience",
            function = self.function,
            attempt = self.attempt,
            max_attempts = self.policy.max_attempts_value(),
            elapsed_ms = self.elapsed_ms(),
            outcome = "recovered",
            "succeeded after retrying"
        );
    }

    fn elapsed_ms(&self) -> u64 {
        self.started
            .map_or(0, |started| clock::millis(started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry_policy::Jitter;

    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .delay(Duration::from_millis(100))
        .jitter(Jitter::None);

    #[test]
    fn waits_grow_until_the_last_attempt_then_stop() {
        let mut attempts = Attempts::start(&POLICY, "f");
        assert_eq!(
            attempts.failed(&"boom", true),
            Some(Duration::from_millis(100))
        );
        assert_eq!(attempts.attempt(), 2);
        assert_eq!(
            attempts.failed(&"boom", true),
            Some(Duration::from_millis(200))
        );
        assert_eq!(attempts.attempt(), 3);
        assert_eq!(attempts.failed(&"boom", true), None);
    }

    #[test]
    fn an_error_the_predicate_rejects_stops_at_once() {
        let mut attempts = Attempts::start(&POLICY, "f");
        assert_eq!(attempts.failed(&"404", false), None);
        assert_eq!(attempts.attempt(), 1);
    }
}
