//! [`RetryPolicy`]: how many attempts, and how long to wait between them.

use std::time::Duration;

use crate::retry::budget::BudgetSlot;

/// How the wait grows from one retry to the next.
///
/// Chosen with `#[retry(backoff = "exp" | "fixed" | "none")]`.
///
/// ```
/// use resilience_runtime::retry::{Backoff, RetryPolicy};
/// let policy = RetryPolicy::new().backoff(Backoff::Fixed);
/// assert_eq!(policy.base_delay(1), policy.base_delay(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backoff {
    /// `delay × factorⁿ⁻¹` before the n-th retry, capped at `max_delay`
    /// (tenacity's `wait_exponential`). The default.
    Exponential,
    /// `delay` before every retry, capped at `max_delay` (tenacity's `wait_fixed`).
    Fixed,
    /// Retry at once (tenacity's `wait_none`).
    None,
}

/// How much randomness is taken off each wait, so that many clients that
/// failed together do not retry together.
///
/// Chosen with `#[retry(jitter = "full" | "equal" | "none")]`. The default is
/// [`Jitter::Equal`]: a wait keeps at least half its computed length, so the
/// schedule a tenacity user configured stays recognisable, while clients that
/// failed at the same moment are spread over the other half.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::retry::{Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::new().delay(Duration::from_secs(1)).jitter(Jitter::Equal);
/// let wait = policy.jittered_delay(1);
/// assert!(wait >= Duration::from_millis(500) && wait <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, d]` (AWS "full jitter"): the widest spread, no floor.
    Full,
    /// Uniform in `[d/2, d]` (AWS "equal jitter"). The default.
    Equal,
    /// Exactly `d`: deterministic, as tenacity's `wait_exponential`.
    None,
}

/// When to give up and how long to wait between attempts.
///
/// Defaults match `#[retry]` with no keys: 3 attempts in all, exponential
/// backoff from 0.5 s doubling up to 30 s, equal jitter.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::retry::RetryPolicy;
///
/// let policy = RetryPolicy::new();
/// assert_eq!(policy.max_attempts_value(), 3);
/// assert_eq!(policy.base_delay(1), Duration::from_millis(500));
/// assert_eq!(policy.base_delay(2), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    backoff: Backoff,
    delay: Duration,
    factor: f64,
    max_delay: Duration,
    jitter: Jitter,
    max_elapsed: Option<Duration>,
    budget: Option<&'static BudgetSlot>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// The default policy (see the type's docs); `const`, so it can live in
    /// a `static`.
    ///
    /// ```
    /// use resilience_runtime::RetryPolicy;
    /// static POLICY: RetryPolicy = RetryPolicy::new().max_attempts(5);
    /// assert_eq!(POLICY.max_attempts_value(), 5);
    /// ```
    pub const fn new() -> Self {
        Self {
            max_attempts: 3,
            backoff: Backoff::Exponential,
            delay: Duration::from_millis(500),
            factor: 2.0,
            max_delay: Duration::from_secs(30),
            jitter: Jitter::Equal,
            max_elapsed: None,
            budget: None,
        }
    }

    /// Attempts in all, the first included (tenacity's `stop_after_attempt`).
    /// A value of 0 is treated as 1: the function always runs once.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// assert_eq!(RetryPolicy::new().max_attempts(5).max_attempts_value(), 5);
    /// ```
    pub const fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = if attempts == 0 { 1 } else { attempts };
        self
    }

    /// How the wait grows between retries.
    ///
    /// ```
    /// # use resilience_runtime::retry::{Backoff, RetryPolicy};
    /// # use std::time::Duration;
    /// assert_eq!(RetryPolicy::new().backoff(Backoff::None).base_delay(1), Duration::ZERO);
    /// ```
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The first wait (and every wait, with [`Backoff::Fixed`]).
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// let policy = RetryPolicy::new().delay(Duration::from_millis(50));
    /// assert_eq!(policy.base_delay(1), Duration::from_millis(50));
    /// ```
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Growth of [`Backoff::Exponential`] from one wait to the next.
    /// Values below 1 are treated as 1 (a wait never shrinks).
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// let policy = RetryPolicy::new().delay(Duration::from_secs(1)).factor(3.0);
    /// assert_eq!(policy.base_delay(3), Duration::from_secs(9));
    /// ```
    pub const fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor >= 1.0 { factor } else { 1.0 };
        self
    }

    /// Cap on any one wait.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// let policy = RetryPolicy::new().max_delay(Duration::from_secs(2));
    /// assert_eq!(policy.base_delay(10), Duration::from_secs(2));
    /// ```
    pub const fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// How much randomness is taken off each wait.
    ///
    /// ```
    /// # use resilience_runtime::retry::{Jitter, RetryPolicy};
    /// let policy = RetryPolicy::new().jitter(Jitter::None);
    /// assert_eq!(policy.jittered_delay(1), policy.base_delay(1));
    /// ```
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// A time budget from the start of the first attempt (tenacity's
    /// `stop_after_delay`, backon's `total_delay`): no attempt starts once
    /// it is spent, and no wait runs past it — when the time since the start
    /// has reached the budget, or the next wait would end past it, the
    /// retries stop and the last error is returned, even when the next
    /// retry would not wait. The attempt limit still applies; whichever is
    /// reached first stops (`#[retry]` with `max_elapsed` and no `max` sets
    /// [`max_attempts`](Self::max_attempts)`(u32::MAX)`, so that the budget
    /// alone decides). In [testing mode](crate::testing) the skipped waits
    /// count toward the budget. A sync call
    /// outside a tokio runtime takes its start time from its thread's
    /// reading of the clock in the same coarse tick, so its budget may end
    /// up to one tick early (4 ms on Linux at 250 Hz; each platform's tick
    /// is in [the crate docs](crate#time)).
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// let policy = RetryPolicy::new().max_elapsed(Duration::from_secs(10));
    /// assert_eq!(policy.max_elapsed_value(), Some(Duration::from_secs(10)));
    /// assert_eq!(RetryPolicy::new().max_elapsed_value(), None);
    /// ```
    pub const fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = Some(budget);
        self
    }

    /// Retries through the retry budget `slot` names, shared by every
    /// policy naming it (see [`budget`](crate::retry::budget)): each call
    /// deposits, each retry withdraws, and an empty budget stops the
    /// retries. `#[retry(budget = "name")]` sets it.
    ///
    /// ```
    /// use resilience_runtime::retry::{RetryPolicy, budget::BudgetSlot};
    ///
    /// static PAYMENTS: BudgetSlot = BudgetSlot::named("payments");
    /// static POLICY: RetryPolicy = RetryPolicy::new().budget(&PAYMENTS);
    /// assert_eq!(POLICY.budget_value().map(BudgetSlot::name), Some("payments"));
    /// ```
    pub const fn budget(mut self, slot: &'static BudgetSlot) -> Self {
        self.budget = Some(slot);
        self
    }

    /// The retry budget, if one is set.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// assert!(RetryPolicy::new().budget_value().is_none());
    /// ```
    pub const fn budget_value(&self) -> Option<&'static BudgetSlot> {
        self.budget
    }

    /// The time budget, if one is set.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// assert_eq!(RetryPolicy::new().max_elapsed_value(), None);
    /// ```
    pub const fn max_elapsed_value(&self) -> Option<Duration> {
        self.max_elapsed
    }

    /// The cap on one wait of the policy's own.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// assert_eq!(RetryPolicy::new().max_delay_value(), Duration::from_secs(30));
    /// ```
    pub const fn max_delay_value(&self) -> Duration {
        self.max_delay
    }

    /// Attempts in all, the first included.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// assert_eq!(RetryPolicy::new().max_attempts_value(), 3);
    /// ```
    pub const fn max_attempts_value(&self) -> u32 {
        self.max_attempts
    }

    /// The wait before retry number `retry` (1 for the wait after the first
    /// failed attempt), before jitter.
    ///
    /// ```
    /// # use resilience_runtime::retry::RetryPolicy;
    /// # use std::time::Duration;
    /// assert_eq!(RetryPolicy::new().base_delay(3), Duration::from_secs(2));
    /// ```
    pub fn base_delay(&self, retry: u32) -> Duration {
        let uncapped = match self.backoff {
            Backoff::None => return Duration::ZERO,
            Backoff::Fixed => self.delay,
            Backoff::Exponential => {
                let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
                let seconds = self.delay.as_secs_f64() * self.factor.powi(exponent);
                // Past `Duration::MAX` (or infinite) the cap applies anyway.
                Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
            }
        };
        uncapped.min(self.max_delay)
    }

    /// The wait before retry number `retry`, jitter applied.
    ///
    /// ```
    /// # use resilience_runtime::retry::{Jitter, RetryPolicy};
    /// let policy = RetryPolicy::new().jitter(Jitter::Full);
    /// assert!(policy.jittered_delay(2) <= policy.base_delay(2));
    /// ```
    pub fn jittered_delay(&self, retry: u32) -> Duration {
        let base = self.base_delay(retry);
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(fastrand::f64()),
            Jitter::Equal => base / 2 + (base / 2).mul_f64(fastrand::f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn exponential_doubles_from_the_first_delay_and_stops_at_the_cap() {
        let policy = RetryPolicy::new().jitter(Jitter::None).max_delay(ms(3000));
        let waits: Vec<_> = (1..=5).map(|n| policy.base_delay(n)).collect();
        assert_eq!(waits, [ms(500), ms(1000), ms(2000), ms(3000), ms(3000)]);
    }

    #[test]
    fn exponential_survives_huge_exponents() {
        let policy = RetryPolicy::new().factor(10.0);
        assert_eq!(policy.base_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn fixed_waits_the_same_and_respects_the_cap() {
        let policy = RetryPolicy::new().backoff(Backoff::Fixed).delay(ms(700));
        assert_eq!(policy.base_delay(1), ms(700));
        assert_eq!(policy.base_delay(9), ms(700));
        let capped = policy.max_delay(ms(300));
        assert_eq!(capped.base_delay(1), ms(300));
    }

    #[test]
    fn none_never_waits() {
        let policy = RetryPolicy::new().backoff(Backoff::None);
        assert_eq!(policy.jittered_delay(1), Duration::ZERO);
        assert_eq!(policy.jittered_delay(7), Duration::ZERO);
    }

    #[test]
    fn zero_attempts_still_runs_once_and_factor_below_one_never_shrinks() {
        assert_eq!(RetryPolicy::new().max_attempts(0).max_attempts_value(), 1);
        let policy = RetryPolicy::new().factor(0.5).jitter(Jitter::None);
        assert_eq!(policy.base_delay(4), ms(500));
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_base() {
        let policy = RetryPolicy::new().jitter(Jitter::Full).delay(ms(1000));
        let waits: Vec<_> = (0..2000).map(|_| policy.jittered_delay(1)).collect();
        assert!(waits.iter().all(|w| *w <= ms(1000)));
        // Spread, not a constant: some waits fall in each half.
        assert!(waits.iter().any(|w| *w < ms(500)));
        assert!(waits.iter().any(|w| *w > ms(500)));
    }

    #[test]
    fn equal_jitter_keeps_half_the_base() {
        let policy = RetryPolicy::new().jitter(Jitter::Equal).delay(ms(1000));
        let waits: Vec<_> = (0..2000).map(|_| policy.jittered_delay(1)).collect();
        assert!(waits.iter().all(|w| *w >= ms(500) && *w <= ms(1000)));
        assert!(waits.iter().any(|w| *w < ms(750)));
        assert!(waits.iter().any(|w| *w > ms(750)));
    }
}
