//! The rest of a sync `#[retry]` call whose first attempt did not succeed.
//!
//! Generated code runs the first attempt itself and returns a success at
//! once; only a failure (or a value `when_ok` rejects) calls [`retry_blocking`],
//! out of line and cold, so that the decorated function stays small enough
//! to inline into its caller. Each later attempt is a call of the same
//! `FnMut` closure the first attempt was: it copies the owned arguments and
//! reborrows `&mut` ones afresh on every call, as a loop in the function did.

use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::retry::attempt::CallAttempt;
use crate::retry::attempts::{Attempts, FirstAttempt};

/// Goes on with a call after its first attempt returned `outcome`: an
/// error, or a value `rejects` asks to retry. `attempt` runs one attempt
/// with the given attempt current; `rejects` is `when_ok` (never, without
/// one); `failed` hands an error to [`Attempts::failed`] with the verdicts
/// of `when` and `delay_from`, and gives back the wait, or the error when
/// it is to be returned. Errors and rejected values are dropped before the
/// wait.
#[cold]
#[inline(never)]
pub fn retry_blocking<T, E>(
    policy: &'static RetryPolicy,
    function: &'static str,
    first: FirstAttempt,
    mut outcome: Result<T, E>,
    mut attempt: impl FnMut(&mut CallAttempt) -> Result<T, E>,
    rejects: impl Fn(&T) -> bool,
    mut failed: impl FnMut(&mut Attempts, E) -> Result<Duration, E>,
) -> Result<T, E> {
    let mut attempts = Attempts::after_first(policy, function, first);
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

    /// Counts the attempt, as `attempt::current()` reports it, and fails
    /// until `succeed_on`.
    fn attempt_until(succeed_on: u32) -> impl FnMut(&mut CallAttempt) -> Result<u32, String> {
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

    fn failed(attempts: &mut Attempts, error: String) -> Result<Duration, String> {
        attempts.failed(&error, true, None).ok_or(error)
    }

    #[test]
    fn goes_on_from_the_second_attempt_until_one_succeeds() {
        let outcome = retry_blocking(
            &POLICY,
            "f",
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
            &POLICY,
            "f",
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
            &POLICY,
            "f",
            FirstAttempt::start(&POLICY),
            Ok(1),
            attempt_until(1),
            |value| *value < 5,
            failed,
        );
        assert_eq!(outcome, Ok(3), "the value of the last attempt");
    }

    #[test]
    fn an_error_failed_refuses_is_returned_without_another_attempt() {
        let outcome = retry_blocking(
            &POLICY,
            "f",
            FirstAttempt::start(&POLICY),
            Err("#1".to_owned()),
            |_: &mut CallAttempt| -> Result<u32, String> { panic!("no second attempt") },
            |_| false,
            |_, error| Err(error),
        );
        assert_eq!(outcome, Err("#1".to_owned()));
    }
}
