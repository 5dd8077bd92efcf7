//! The retry loop's bookkeeping, driven by the loop `#[retry]` generates.
//!
//! A call starts with a [`FirstAttempt`]: only what its first attempt needs
//! (the attempt `attempt::current()` reports, and the start time when
//! something will read it). A call whose first attempt succeeds builds
//! nothing more. After a first failure it becomes [`Attempts`], which
//! decides whether to go on, how long to wait, and emits the events. Each
//! retry is counted here, once: `retry_attempts_total` and the recovery
//! scope's retry count.

use std::fmt::Display;
use std::time::Duration;

use crate::clock::{self, Instant};
use crate::meters::CounterDef;
use crate::retry::RetryPolicy;
use crate::retry::attempt::CallAttempt;

/// `retry_attempts_total{function}`: attempts after the first.
static RETRY_ATTEMPTS_TOTAL: CounterDef = CounterDef::new(
    "retry_attempts_total",
    "Retries made by #[retry]: attempts after the first",
);

/// The state of a call while its first attempt runs.
pub struct FirstAttempt<'a> {
    /// Read at the call's start only when something will need it: the
    /// events' `elapsed_ms` (a `resilience` subscriber listens) or a time
    /// budget. The thread's tick reading ([`clock::this_tick`]): outside a
    /// tokio runtime it may be up to one coarse tick (4 ms at 250 Hz) early,
    /// so `elapsed_ms` may read up to one tick long and a budget end up to
    /// one tick early; it costs a healthy observed call a few ns, not a
    /// clock read.
    started: Option<Instant>,
    /// What `attempt::current()` tells the body: attempt 1 of `max`, or
    /// the enclosing loop's run when loops nest.
    context: CallAttempt<'a>,
}

impl<'a> FirstAttempt<'a> {
    /// Whether a call must read its start time before its first attempt:
    /// it has a time budget, or some subscriber may take `resilience`
    /// events (their `elapsed_ms`). One load and compare when neither.
    #[inline]
    pub fn timed(policy: &'static RetryPolicy) -> bool {
        policy.max_elapsed_value().is_some() || tracing::level_enabled!(tracing::Level::ERROR)
    }

    /// Starts a call, reading its start time if it is [`timed`](Self::timed).
    #[inline]
    pub fn start(policy: &'static RetryPolicy) -> Self {
        Self::start_in(policy, None)
    }

    /// Starts a call as [`start`](Self::start) does; `within`: the attempt
    /// of the enclosing loop of the same call, when loops nest (its number
    /// and key go on here).
    #[inline]
    pub fn start_in(policy: &'static RetryPolicy, within: Option<&'a CallAttempt<'_>>) -> Self {
        deposit(policy);
        let started = if policy.max_elapsed_value().is_some() {
            Some(clock::this_tick())
        } else if tracing::level_enabled!(tracing::Level::ERROR) {
            // Some subscriber takes errors: ask whether it takes ours, out
            // of line, so that the unobserved call stays small.
            start_if_observed()
        } else {
            None
        };
        Self {
            started,
            context: call_attempt(policy, within),
        }
    }

    /// Starts a call that is not [`timed`](Self::timed): no clock to read.
    #[inline]
    pub fn untimed(policy: &'static RetryPolicy) -> Self {
        deposit(policy);
        Self {
            started: None,
            context: CallAttempt::first(policy.max_attempts_value()),
        }
    }

    /// Starts a loop that is not [`timed`](Self::timed) inside the attempt
    /// `outer` of the same call: its number and key go on here.
    #[inline]
    pub fn untimed_within(policy: &'static RetryPolicy, outer: &'a CallAttempt<'_>) -> Self {
        deposit(policy);
        Self {
            started: None,
            context: CallAttempt::within(outer, policy.max_attempts_value()),
        }
    }

    /// What `attempt::current()` returns inside the first attempt: run the
    /// attempt with [`in_attempt`](crate::retry::attempt) holding it.
    #[inline]
    pub fn context(&mut self) -> &mut CallAttempt<'a> {
        &mut self.context
    }
}

/// Counts a call in the policy's retry budget, if it has one.
#[inline]
fn deposit(policy: &'static RetryPolicy) {
    if let Some(slot) = policy.budget_value() {
        slot.get().deposit();
    }
}

/// A loop's first attempt: its own, or going on with `within`'s.
#[inline]
fn call_attempt<'a>(policy: &RetryPolicy, within: Option<&'a CallAttempt<'_>>) -> CallAttempt<'a> {
    match within {
        None => CallAttempt::first(policy.max_attempts_value()),
        Some(outer) => CallAttempt::within(outer, policy.max_attempts_value()),
    }
}

/// The call's start time, when a subscriber listens to `resilience` events
/// (their `elapsed_ms`).
#[inline(never)]
fn start_if_observed() -> Option<Instant> {
    tracing::enabled!(target: "resilience", tracing::Level::ERROR).then(clock::this_tick)
}

/// The state of one decorated call: which attempt it is on.
pub struct Attempts<'a> {
    policy: &'static RetryPolicy,
    function: &'static str,
    attempt: u32,
    /// Read only when needed: for events, or for a time budget. The healthy
    /// call of an unobserved function without a budget reads no clock.
    started: Option<Instant>,
    /// What `attempt::current()` tells the body; its idempotency key is made
    /// on first request and kept for every attempt of the call.
    context: CallAttempt<'a>,
    /// The waits testing mode skipped: they count as elapsed, so that the
    /// budget allows the attempts it would allow in production.
    skipped: Duration,
}

/// Why a call stopped retrying, where it was not the attempt limit.
#[derive(Clone, Copy)]
enum Stop {
    /// The policy's next wait would end past `max_elapsed`.
    Budget,
    /// The server asked for a wait longer than `max_delay`.
    ServerDelayTooLong,
    /// The server asked for a wait that would end past `max_elapsed`.
    ServerDelayPastBudget,
}

impl<'a> Attempts<'a> {
    /// Starts the first attempt of a call.
    #[inline]
    pub fn start(policy: &'static RetryPolicy, function: &'static str) -> Self {
        Self::after_first(policy, function, FirstAttempt::start(policy))
    }

    /// Starts a loop inside the running attempt of `outer`, a loop of the
    /// same call: the body's number and key go on from `outer`'s.
    #[inline]
    pub fn start_within(
        policy: &'static RetryPolicy,
        function: &'static str,
        outer: &'a Attempts<'_>,
    ) -> Self {
        let first = FirstAttempt::start_in(policy, Some(&outer.context));
        Self::after_first(policy, function, first)
    }

    /// Goes on from a call's first attempt (still attempt 1: feed its
    /// outcome in next). Its start time and idempotency key carry over.
    #[inline]
    pub fn after_first(
        policy: &'static RetryPolicy,
        function: &'static str,
        first: FirstAttempt<'a>,
    ) -> Self {
        Self {
            policy,
            function,
            attempt: 1,
            started: first.started,
            context: first.context,
            skipped: Duration::ZERO,
        }
    }

    /// The attempt now running, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// What `attempt::current()` returns inside the running attempt: run
    /// the attempt with [`in_attempt`](crate::retry::attempt) holding it.
    #[inline]
    pub fn context(&mut self) -> &mut CallAttempt<'a> {
        self.context.begin()
    }

    /// The current attempt succeeded.
    #[inline]
    pub fn succeeded(&self) {
        if self.attempt > 1 {
            self.recovered();
        }
    }

    /// The current attempt failed with `error`; `retryable` is the verdict of
    /// the `when` predicate, `server_delay` what `delay_from` read from the
    /// error. Returns the wait before the next attempt, or `None` when the
    /// error is to be returned as it is. A retry is counted (metrics,
    /// recovery scope) when the wait is handed out.
    pub fn failed(
        &mut self,
        error: &dyn Display,
        retryable: bool,
        server_delay: Option<Duration>,
    ) -> Option<Duration> {
        let (function, attempt) = (self.function, self.attempt);
        let max_attempts = self.policy.max_attempts_value();
        if !retryable {
            let elapsed_ms = self.elapsed_ms();
            tracing::info!(
                target: "resilience", function, attempt, max_attempts, error = %error, elapsed_ms,
                outcome = "not_retried", "error not retried: the `when` predicate rejected it"
            );
            return None;
        }
        if attempt >= max_attempts {
            let elapsed_ms = self.elapsed_ms();
            tracing::error!(
                target: "resilience", function, attempt, max_attempts, error = %error, elapsed_ms,
                outcome = "exhausted", "giving up: every attempt failed"
            );
            return None;
        }
        match self.next_wait(server_delay) {
            Ok(_) if !self.budget_allows() => None,
            Ok((delay, delay_source)) => {
                tracing::warn!(
                    target: "resilience", function, attempt, max_attempts, error = %error,
                    delay_ms = clock::millis(delay), delay_source, elapsed_ms = self.elapsed_ms(),
                    "attempt failed, retrying"
                );
                Some(self.retry_after(delay))
            }
            Err(stop) => {
                let (outcome, message) = stop.describe();
                tracing::error!(
                    target: "resilience", function, attempt, max_attempts, error = %error,
                    elapsed_ms = self.elapsed_ms(), outcome, "{}", message
                );
                None
            }
        }
    }

    /// The current attempt returned a value that `when_ok` asked to retry.
    /// Returns the wait before the next attempt, or `None` when the value is
    /// to be returned as it is (attempts or budget ran out).
    pub fn value_rejected(&mut self) -> Option<Duration> {
        let (function, attempt) = (self.function, self.attempt);
        let max_attempts = self.policy.max_attempts_value();
        if attempt >= max_attempts {
            tracing::warn!(
                target: "resilience", function, attempt, max_attempts, elapsed_ms = self.elapsed_ms(),
                outcome = "exhausted", "returning the last value: every attempt's value asked for a retry"
            );
            return None;
        }
        match self.next_wait(None) {
            Ok(_) if !self.budget_allows() => None,
            Ok((delay, delay_source)) => {
                tracing::info!(
                    target: "resilience", function, attempt, max_attempts,
                    delay_ms = clock::millis(delay), delay_source, elapsed_ms = self.elapsed_ms(),
                    outcome = "value_retried", "the `when_ok` predicate asked to retry the value"
                );
                Some(self.retry_after(delay))
            }
            Err(stop) => {
                let (outcome, message) = stop.describe();
                tracing::warn!(
                    target: "resilience", function, attempt, max_attempts,
                    elapsed_ms = self.elapsed_ms(), outcome, "{}; returning the last value", message
                );
                None
            }
        }
    }

    /// The next wait and where it came from, or why there is none. The
    /// policy's own sequence is indexed by the attempt, so it advances
    /// whether or not the server's delay replaced this wait.
    fn next_wait(&self, server_delay: Option<Duration>) -> Result<(Duration, &'static str), Stop> {
        let left = self.budget_left();
        // A spent budget stops even a retry that would not wait: `left` is
        // `Some(None)` then, never a zero that a zero wait fits into.
        let past_budget =
            |delay: Duration| left.is_some_and(|left| left.is_none_or(|left| delay > left));
        match server_delay {
            // The server's word is never clamped nor jittered: a wait it
            // cannot have means stop now (retrying sooner earns another 429).
            Some(delay) if delay > self.policy.max_delay_value() => Err(Stop::ServerDelayTooLong),
            Some(delay) if past_budget(delay) => Err(Stop::ServerDelayPastBudget),
            Some(delay) => Ok((delay, "server")),
            None => {
                let delay = self.policy.jittered_delay(self.attempt);
                if past_budget(delay) {
                    return Err(Stop::Budget);
                }
                Ok((delay, "policy"))
            }
        }
    }

    /// Whether the retry budget, if there is one, allows one more retry
    /// (and takes it).
    fn budget_allows(&self) -> bool {
        self.policy
            .budget_value()
            .is_none_or(|slot| slot.get().withdraw(self.function))
    }

    fn retry_after(&mut self, delay: Duration) -> Duration {
        RETRY_ATTEMPTS_TOTAL.increment(&[("function", self.function)]);
        super::counts::count(self.function);
        crate::recovery::retried();
        self.attempt += 1;
        self.context.next();
        let wait = crate::testing::wait_for(delay);
        self.skipped += delay - wait;
        wait
    }

    /// What is left of `max_elapsed`, if one is set: `Some(None)` once it
    /// is spent (the time since the start has reached it), so that no
    /// attempt starts then, however short its wait.
    fn budget_left(&self) -> Option<Option<Duration>> {
        let budget = self.policy.max_elapsed_value()?;
        Some(
            budget
                .checked_sub(self.elapsed())
                .filter(|left| !left.is_zero()),
        )
    }

    /// The time since the call's start (zero when it was not read), the
    /// waits testing mode skipped included.
    fn elapsed(&self) -> Duration {
        let elapsed = self
            .started
            .map_or(Duration::ZERO, |started| started.elapsed());
        elapsed + self.skipped
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
        if self.started.is_none() {
            return 0;
        }
        clock::millis(self.elapsed())
    }
}

impl Stop {
    /// The event's `outcome` and message.
    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Stop::Budget => (
                "budget_exhausted",
                "giving up: the next wait would end past max_elapsed",
            ),
            Stop::ServerDelayTooLong => (
                "server_delay_too_long",
                "giving up: the server asked for a wait longer than max_delay",
            ),
            Stop::ServerDelayPastBudget => (
                "budget_exhausted",
                "giving up: the server asked for a wait that ends past max_elapsed",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Jitter;

    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .delay(Duration::from_millis(100))
        .jitter(Jitter::None);

    #[test]
    fn waits_grow_until_the_last_attempt_then_stop() {
        let mut attempts = Attempts::start(&POLICY, "f");
        assert_eq!(
            attempts.failed(&"boom", true, None),
            Some(Duration::from_millis(100))
        );
        assert_eq!(attempts.attempt(), 2);
        assert_eq!(
            attempts.failed(&"boom", true, None),
            Some(Duration::from_millis(200))
        );
        assert_eq!(attempts.attempt(), 3);
        assert_eq!(attempts.failed(&"boom", true, None), None);
    }

    #[test]
    fn an_error_the_predicate_rejects_stops_at_once() {
        let mut attempts = Attempts::start(&POLICY, "f");
        assert_eq!(attempts.failed(&"404", false, None), None);
        assert_eq!(attempts.attempt(), 1);
    }
}
