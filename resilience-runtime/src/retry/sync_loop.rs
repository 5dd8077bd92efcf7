//! The sync `#[retry]` loop, out of line.
//!
//! When a call need not read its start time (no budget, no subscriber
//! taking `resilience` events: see [`FirstAttempt::timed`]), generated code
//! runs the first attempt itself and returns a success at once; only a
//! failure (or a value `when_ok` rejects) calls [`retry_blocking`], cold.
//! A timed call is all out of line: [`retry_blocking_timed`]. Either way
//! the decorated function stays small enough to inline into its caller,
//! and carries no start time across its first attempt.
//!
//! Each attempt is a call of one `FnMut` closure: it copies the owned
//! arguments and reborrows `&mut` ones afresh on every call, as a loop in
//! the function did.

use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::retry::attempt::CallAttempt;
use crate::retry::attempts::{Attempts, FirstAttempt};

/// A decorated function's policy and name, in one `static`: one pointer to
/// pass on.
pub struct RetrySite {
    policy: &'static RetryPolicy,
    function: &'static str,
}

impl RetrySite {
    /// The site of `function` (its path), retried under `policy`.
    pub const fn new(policy: &'static RetryPolicy, function: &'static str) -> Self {
        Self { policy, function }
    }
}

/// Fixes the types of a call's verdicts from its attempt, so that generated
/// code can name them once and hand them to either path: `rejects` is
/// `when_ok` (never, without one); `failed` hands an error to
/// [`Attempts::failed`] with the verdicts of `when` and `delay_from`, and
/// gives back the wait, or the error when it is to be returned.
#[inline(always)]
pub fn verdicts<T, E, R, F>(
    _attempt: &impl FnMut(&mut CallAttempt<'_>) -> Result<T, E>,
    rejects: R,
    failed: F,
) -> (R, F)
where
    R: Fn(&T) -> bool,
    F: FnMut(&mut Attempts<'_>, E) -> Result<Duration, E>,
{
    (rejects, failed)
}

/// A whole call that reads its start time (see [`FirstAttempt::timed`]),
/// out of line. `within`: the attempt of the enclosing loop of the same
/// call, when loops nest.
#[inline(never)]
pub fn retry_blocking_timed<T, E>(
    site: &'static RetrySite,
    within: Option<&CallAttempt<'_>>,
    mut attempt: impl FnMut(&mut CallAttempt<'_>) -> Result<T, E>,
    rejects: impl Fn(&T) -> bool,
    failed: impl FnMut(&mut Attempts<'_>, E) -> Result<Duration, E>,
) -> Result<T, E> {
    let mut first = FirstAttempt::start_in(site.policy, within);
    let outcome = attempt(first.context());
    match &outcome {
        Ok(value) if !rejects(value) => outcome,
        _ => retry_blocking(site, first, outcome, attempt, rejects, failed),
    }
}

/// Goes on with a call after its first attempt returned `outcome`: an
/// error, or a value `rejects` asks to retry. `attempt` runs one attempt
/// with the given attempt current; `rejects` and `failed` are as
/// [`verdicts`] says. Errors and rejected values are dropped before the
/// wait.
#[cold]
#[inline(never)]
pub fn retry_blocking<T, E>(
    site: &'static RetrySite,
    first: FirstAttempt<'_>,
    mut outcome: Result<T, E>,
    mut attempt: impl FnMut(&mut CallAttempt<'_>) -> Result<T, E>,
    rejects: impl Fn(&T) -> bool,
    mut failed: impl FnMut(&mut Attempts<'_>, E) -> Result<Duration, E>,
) -> Result<T, E> {
    let mut attempts = Attempts::after_first(site.policy, site.function, first);
    loop {
        let delay = match outcome {
            Ok(value) => match attempts.value_rejected() {
                Some(delay) => delay,
                None => return Ok(value),
            },
            // The error the loop is to return comes back, and is returned.
            Err(error) => failed(&mut attempts, error)?,
        };
        crate::__private::sleep_blocking(delay);
        outcome = attempt(attempts.context());
        if let Ok(value) = &outcome
            && !rejects(value)
        {
            attempts.succeeded();
            return outcome;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::Jitter;
    use crate::retry::attempt::{current, in_attempt_blocking};

    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .delay(Duration::ZERO)
        .jitter(Jitter::None);
    static SITE: RetrySite = RetrySite::new(&POLICY, "f");

    /// Counts the attempt, as `attempt::current()` reports it, and fails
    /// until `succeed_on`.
    fn attempt_until(succeed_on: u32) -> impl FnMut(&mut CallAttempt<'_>) -> Result<u32, String> {
        move |call| {
            in_attempt_blocking(call, || {
                let number = current().unwrap().number();
                if number >= succeed_on {
                    Ok(number)
                } else {
                    Err(format!("#{number}"))
                }
            })
        }
    }

    fn failed(attempts: &mut Attempts<'_>, error: String) -> Result<Duration, String> {
        attempts.failed(&error, true, None).ok_or(error)
    }

    #[test]
    fn goes_on_from_the_second_attempt_until_one_succeeds() {
        let outcome = retry_blocking(
            &SITE,
            FirstAttempt::start(&POLICY),
            Err("#1".to_owned()),
            attempt_until(3),
            |_| false,
            failed,
        );
        assert_eq!(outcome, Ok(3));
    }

    #[test]
    fn returns_the_last_error_when_attempts_run_out() {
        let outcome = retry_blocking(
            &SITE,
            FirstAttempt::start(&POLICY),
            Err("#1".to_owned()),
            attempt_until(4),
            |_| false,
            failed,
        );
        assert_eq!(outcome, Err("#3".to_owned()));
    }

    #[test]
    fn a_rejected_value_is_retried_and_the_last_one_returned() {
        let outcome = retry_blocking(
            &SITE,
            FirstAttempt::start(&POLICY),
            Ok(1),
            attempt_until(1),
            |value| *value < 5,
            failed,
        );
        assert_eq!(outcome, Ok(3), "the value of the last attempt");
    }

    #[test]
    fn a_timed_call_runs_its_first_attempt_too() {
        static BUDGETED: RetryPolicy = RetryPolicy::new()
            .max_attempts(3)
            .delay(Duration::ZERO)
            .jitter(Jitter::None)
            .max_elapsed(Duration::from_secs(60));
        static BUDGETED_SITE: RetrySite = RetrySite::new(&BUDGETED, "f");
        assert!(FirstAttempt::timed(&BUDGETED));
        let healthy =
            retry_blocking_timed(&BUDGETED_SITE, None, attempt_until(1), |_| false, failed);
        assert_eq!(healthy, Ok(1));
        let recovered =
            retry_blocking_timed(&BUDGETED_SITE, None, attempt_until(2), |_| false, failed);
        assert_eq!(recovered, Ok(2));
    }

    #[test]
    fn an_error_failed_refuses_is_returned_without_another_attempt() {
        let outcome = retry_blocking(
            &SITE,
            FirstAttempt::start(&POLICY),
            Err("#1".to_owned()),
            |_: &mut CallAttempt<'_>| -> Result<u32, String> { panic!("no second attempt") },
            |_| false,
            |_, error| Err(error),
        );
        assert_eq!(outcome, Err("#1".to_owned()));
    }
}
