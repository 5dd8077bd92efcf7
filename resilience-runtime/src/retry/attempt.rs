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
//!
//! # Loops inside loops
//!
//! The key belongs to the call of the decorated function, whatever loops
//! its attributes run. `#[stale_cache]` retries its refresh around a
//! `#[retry]` below it, and `#[retry] #[timeout] #[retry]` runs one loop in
//! another: every run of the body in such a call carries the same key, a
//! run cut off by a `#[timeout]` included. [`Attempt::number`] then counts
//! the runs of the body across all the loops (what a log of the call
//! shows), and [`Attempt::max`] is the most runs they allow together: the
//! product of the loops' limits. With `#[stale_cache(retries = 2)]` (3
//! passes) over `#[retry(max = 2)]`, a call that always fails runs the
//! body 6 times, numbered 1 to 6 of 6, under one key.

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
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
    /// The attempt number, from 1: the runs of the body so far in this
    /// call, across all its loops (see [Loops inside loops](self#loops-inside-loops)).
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

    /// The most attempts this call may make: `max`, `u32::MAX` when a
    /// `max_elapsed` budget without `max` decides alone, and the product of
    /// the loops' limits when loops nest (see
    /// [Loops inside loops](self#loops-inside-loops)).
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
    // exclusive borrow of that `CallAttempt` (and so of what it borrows)
    // for as long as the pointer is set, and puts the previous pointer back
    // before the borrow ends. This runs inside that attempt (the body
    // calls it), on the thread that set it; only shared access follows.
    let call = unsafe { &*call };
    let progress = call.progress();
    Some(Attempt {
        number: progress.number.load(Relaxed),
        max: call.max,
        idempotency_key: progress.key().hyphenated().to_string(),
    })
}

thread_local! {
    /// The attempt whose body is running on this thread, or null. A pointer,
    /// not a copy: setting it is one word, and the body's key request
    /// lands in the call's own state. Its lifetime is erased; `Entered`
    /// keeps the pointer no longer than the borrow it stands for.
    static CURRENT: Cell<*const CallAttempt<'static>> = const { Cell::new(std::ptr::null()) };
}

/// One call's attempt as generated code keeps it: its limit, and its
/// progress (number and idempotency key) — its own, or that of the loop it
/// runs inside when loops nest. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct CallAttempt<'a> {
    max: u32,
    own: Progress,
    /// The enclosing loop's progress, when this loop runs inside another
    /// of the same call: they count and key as one.
    joined: Option<&'a Progress>,
}

/// How far a call has got: the run of the body under way, and the key once
/// one was asked for. Shared-mutable, so that a loop inside another
/// advances the outer loop's progress through a shared borrow, and what a
/// cut-off inner loop did is never lost; `Sync` (one thread uses it at a
/// time, so relaxed), so that a future holding the borrow stays `Send`.
#[derive(Debug)]
struct Progress {
    number: AtomicU32,
    /// A loop handed out a wait: the next run to begin is the next number.
    /// Owed, not counted at once, so that a wait cut off (a `#[timeout]`
    /// around the loop) counts no run that never began.
    owed: AtomicBool,
    key: OnceLock<Uuid>,
}

impl Progress {
    const fn first() -> Self {
        Self {
            number: AtomicU32::new(1),
            owed: AtomicBool::new(false),
            key: OnceLock::new(),
        }
    }

    /// A run begins: the number it was owed, if any.
    #[inline]
    fn begin(&self) {
        if self.owed.load(Relaxed) {
            self.owed.store(false, Relaxed);
            self.number
                .store(self.number.load(Relaxed).saturating_add(1), Relaxed);
        }
    }

    /// The call's key, made now if it has none yet.
    fn key(&self) -> Uuid {
        *self.key.get_or_init(Uuid::new_v4)
    }
}

impl<'a> CallAttempt<'a> {
    /// The first attempt of a call that may make `max`.
    #[inline]
    pub(crate) const fn first(max: u32) -> Self {
        Self {
            max,
            own: Progress::first(),
            joined: None,
        }
    }

    /// The first attempt of a loop that runs inside `outer`'s attempt, of
    /// the same call: it goes on with `outer`'s number and key, and allows
    /// `max` runs for each of `outer`'s.
    #[inline]
    pub(crate) fn within(outer: &'a CallAttempt<'_>, max: u32) -> Self {
        outer.progress().begin();
        Self {
            max: outer.max.saturating_mul(max),
            own: Progress::first(),
            joined: Some(outer.progress()),
        }
    }

    /// On to the next attempt, once it begins ([`begin`](Self::begin));
    /// the key stays.
    #[inline]
    pub(crate) fn next(&mut self) {
        self.progress().owed.store(true, Relaxed);
    }

    /// An attempt of this loop begins: it takes the next number if a wait
    /// was handed out since the last one began.
    #[inline]
    pub(crate) fn begin(&mut self) -> &mut Self {
        self.progress().begin();
        self
    }

    fn progress(&self) -> &Progress {
        self.joined.unwrap_or(&self.own)
    }
}

/// While alive, `call` is this thread's current attempt; dropped (also
/// while unwinding), it puts the previous attempt back.
struct Entered<'a> {
    previous: *const CallAttempt<'static>,
    /// The exclusive borrow the pointer in `CURRENT` stands for.
    _call: PhantomData<&'a mut ()>,
}

impl<'a> Entered<'a> {
    #[inline]
    fn enter(call: &'a mut CallAttempt<'_>) -> Self {
        let pointer: *const CallAttempt<'_> = call;
        let previous = CURRENT.replace(pointer.cast());
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
pub fn in_attempt_blocking<R>(call: &mut CallAttempt<'_>, body: impl FnOnce() -> R) -> R {
    let _entered = Entered::enter(call);
    body()
}

/// Runs an async attempt with `call` as the current attempt during each of
/// its polls.
#[doc(hidden)]
#[inline]
pub fn in_attempt<'a, 'b, F: Future>(
    call: &'a mut CallAttempt<'b>,
    attempt: F,
) -> InAttempt<'a, 'b, F> {
    InAttempt { call, attempt }
}

pin_project_lite::pin_project! {
    /// An async attempt, with its call's attempt current while it is polled.
    #[doc(hidden)]
    pub struct InAttempt<'a, 'b, F> {
        call: &'a mut CallAttempt<'b>,
        #[pin]
        attempt: F,
    }
}

impl<F: Future> Future for InAttempt<'_, '_, F> {
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
        let second = in_attempt_blocking(call.begin(), || current().unwrap());
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
