//! Which attempt of a `#[retry]` call is running, and one idempotency key
//! for all the attempts of that call.
//!
//! A retried request must be idempotent: a `POST` needs an idempotency key
//! (or de-duplication on the server), or a retry after a lost response
//! charges the card twice. Inside a `#[retry]` body, [`current`] gives the
//! attempt number and a key made once per call and the same on every
//! attempt of it, so the header is one line:
//!
//! ```
//! use resilience_runtime::{attempt, retry};
//!
//! #[derive(Debug)]
//! struct PaymentError;
//!
//! # fn post(_url: &str, _headers: &[(&str, &str)]) -> Result<String, PaymentError> { Ok("ok".into()) }
//! #[retry(max = 3, backoff = "none")]
//! fn charge(cents: u64) -> Result<String, PaymentError> {
//!     let attempt = attempt::current().expect("inside a retried body");
//!     post("/charges", &[("Idempotency-Key", attempt.idempotency_key())])
//! }
//!
//! assert_eq!(charge(500).unwrap(), "ok");
//! assert!(attempt::current().is_none(), "outside a retried body");
//! ```
//!
//! `GET`, `HEAD`, `OPTIONS`, `PUT` and `DELETE` are idempotent by
//! definition (RFC 9110 §9.2.2) and safe to retry without a key; `POST` and
//! `PATCH` are not.
//!
//! Sync and async bodies alike; a decorated function called from inside
//! another one's attempt sees its own call, and the outer one's again once
//! it returns. Concurrent calls never see each other's: the attempt is
//! carried by the thread while a sync attempt runs, and by the future's own
//! polls for an async one, so tasks sharing a thread do not mix.

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use uuid::Uuid;

/// The attempt of a `#[retry]` call that is running, as its body sees it.
///
/// ```
/// use resilience_runtime::{attempt, retry};
///
/// #[retry(max = 3, backoff = "none")]
/// fn flaky() -> Result<(u32, u32), String> {
///     let attempt = attempt::current().unwrap();
///     if attempt.is_retry() { Ok((attempt.number(), attempt.max())) } else { Err("first".into()) }
/// }
/// assert_eq!(flaky(), Ok((2, 3)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    number: u32,
    max: u32,
    idempotency_key: String,
}

impl Attempt {
    /// The attempt number, from 1.
    ///
    /// ```
    /// # use resilience_runtime::{attempt, retry};
    /// #[retry(max = 2, backoff = "none")]
    /// fn flaky() -> Result<u32, String> {
    ///     let number = attempt::current().unwrap().number();
    ///     if number < 2 { Err("first".into()) } else { Ok(number) }
    /// }
    /// assert_eq!(flaky(), Ok(2));
    /// ```
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The most attempts this call may make (`max`).
    ///
    /// ```
    /// # use resilience_runtime::{attempt, retry};
    /// #[retry(max = 4)]
    /// fn limit() -> Result<u32, String> {
    ///     Ok(attempt::current().unwrap().max())
    /// }
    /// assert_eq!(limit(), Ok(4));
    /// ```
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Whether this attempt is a retry (not the first).
    ///
    /// ```
    /// # use resilience_runtime::{attempt, retry};
    /// #[retry(max = 2)]
    /// fn first() -> Result<bool, String> {
    ///     Ok(attempt::current().unwrap().is_retry())
    /// }
    /// assert_eq!(first(), Ok(false));
    /// ```
    pub fn is_retry(&self) -> bool {
        self.number > 1
    }

    /// A random UUID (version 4), made once per call on first request and
    /// the same on every attempt of that call: the value of an
    /// `Idempotency-Key` header.
    ///
    /// ```
    /// # use resilience_runtime::{attempt, retry};
    /// #[retry(max = 2)]
    /// fn key() -> Result<String, String> {
    ///     Ok(attempt::current().unwrap().idempotency_key().to_owned())
    /// }
    /// let (one, two) = (key().unwrap(), key().unwrap());
    /// assert_eq!(one.len(), 36);
    /// assert_ne!(one, two, "one key per call");
    /// ```
    pub fn idempotency_key(&self) -> &str {
        &self.idempotency_key
    }
}

/// The attempt running in the calling body, or `None` outside a `#[retry]`
/// body (sync or async). See the [module docs](self).
///
/// ```
/// assert!(resilience_runtime::attempt::current().is_none());
/// ```
pub fn current() -> Option<Attempt> {
    let call = CURRENT.get();
    if call.is_null() {
        return None;
    }
    // SAFETY: a non-null pointer was set by `Entered`, which holds the
    // exclusive borrow of that `CallAttempt` for as long as the pointer is
    // set, and puts the previous pointer back before the borrow ends. This
    // runs inside that attempt (the body calls it), on the thread that set
    // it, and no other reference to the `CallAttempt` is used meanwhile.
    let call = unsafe { &mut *call };
    let key = call.key();
    Some(Attempt {
        number: call.number,
        max: call.max,
        idempotency_key: key.hyphenated().to_string(),
    })
}

thread_local! {
    /// The attempt whose body is running on this thread, or null. A pointer,
    /// not a copy: setting it is one word, and the body's key request
    /// lands in the call's own state.
    static CURRENT: Cell<*mut CallAttempt> = const { Cell::new(std::ptr::null_mut()) };
}

/// One call's attempt as generated code keeps it: its number, its limit, and
/// its idempotency key once one was asked for. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct CallAttempt {
    number: u32,
    max: u32,
    key: Option<Uuid>,
}

impl CallAttempt {
    /// The first attempt of a call that may make `max`.
    #[inline]
    pub(crate) const fn first(max: u32) -> Self {
        Self {
            number: 1,
            max,
            key: None,
        }
    }

    /// On to the next attempt; the key stays.
    #[inline]
    pub(crate) fn next(&mut self) {
        self.number = self.number.saturating_add(1);
    }

    /// The call's key, made now if it has none yet.
    fn key(&mut self) -> Uuid {
        *self.key.get_or_insert_with(Uuid::new_v4)
    }
}

/// While alive, `call` is this thread's current attempt; dropped (also
/// while unwinding), it puts the previous attempt back.
struct Entered<'a> {
    previous: *mut CallAttempt,
    /// The exclusive borrow the pointer in `CURRENT` stands for.
    _call: PhantomData<&'a mut CallAttempt>,
}

impl<'a> Entered<'a> {
    #[inline]
    fn enter(call: &'a mut CallAttempt) -> Self {
        let previous = CURRENT.replace(call);
        Self {
            previous,
            _call: PhantomData,
        }
    }
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// Runs a sync attempt with `call` as the current attempt.
#[doc(hidden)]
#[inline]
pub fn in_attempt_blocking<R>(call: &mut CallAttempt, body: impl FnOnce() -> R) -> R {
    let _entered = Entered::enter(call);
    body()
}

/// Runs an async attempt with `call` as the current attempt during each of
/// its polls.
#[doc(hidden)]
#[inline]
pub fn in_attempt<F: Future>(call: &mut CallAttempt, attempt: F) -> InAttempt<'_, F> {
    InAttempt { call, attempt }
}

pin_project_lite::pin_project! {
    /// An async attempt, with its call's attempt current while it is polled.
    #[doc(hidden)]
    pub struct InAttempt<'a, F> {
        call: &'a mut CallAttempt,
        #[pin]
        attempt: F,
    }
}

impl<F: Future> Future for InAttempt<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = Entered::enter(this.call);
        this.attempt.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_an_attempt_there_is_none() {
        assert_eq!(current(), None);
    }

    #[test]
    fn the_key_is_made_once_and_kept_across_attempts() {
        let mut call = CallAttempt::first(3);
        let first = in_attempt_blocking(&mut call, || current().unwrap());
        call.next();
        let second = in_attempt_blocking(&mut call, || current().unwrap());
        assert_eq!((first.number(), second.number()), (1, 2));
        assert_eq!(first.max(), 3);
        assert_eq!(first.idempotency_key(), second.idempotency_key());
        assert_eq!(
            Uuid::parse_str(first.idempotency_key())
                .unwrap()
                .get_version_num(),
            4
        );
        assert_eq!(current(), None, "restored after the attempt");
    }

    #[test]
    fn a_nested_call_sees_its_own_then_the_outer_again() {
        let mut outer = CallAttempt::first(2);
        in_attempt_blocking(&mut outer, || {
            let before = current().unwrap();
            let mut inner = CallAttempt::first(5);
            let nested = in_attempt_blocking(&mut inner, || current().unwrap());
            assert_eq!(nested.max(), 5);
            assert_ne!(nested.idempotency_key(), before.idempotency_key());
            assert_eq!(current().unwrap(), before);
        });
    }

    #[test]
    fn a_panicking_attempt_restores_the_previous_one() {
        let mut call = CallAttempt::first(2);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            in_attempt_blocking(&mut call, || panic!("boom"))
        }));
        assert!(panicked.is_err());
        assert_eq!(current(), None);
    }
}
