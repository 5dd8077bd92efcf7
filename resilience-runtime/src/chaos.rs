//! Chaos injection (feature `chaos`): rehearse an outage by making a
//! decorated function, or every call through a breaker, fail a share of
//! its calls with an error the application supplies, answer late, or hang
//! — on a seeded generator, so a rehearsal replays.
//!
//! A **target** is a decorated function's path, `module::path::name` (the
//! `function` of its events: `concat!(module_path!(), "::name")`), or a
//! breaker's `name`. Injections are switched on and off at run time with
//! plain values ([`inject`], [`stop`], [`stop_all`]), so a status page's
//! control route can call them as code does; the error to fail with is
//! registered earlier, in code, with [`register_error`].
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::{chaos, retry};
//!
//! #[derive(Debug, PartialEq)]
//! enum ApiError {
//!     Unavailable,
//! }
//!
//! #[retry(max = 3, delay = "100ms")]
//! async fn fetch(id: u32) -> Result<u32, ApiError> {
//!     Ok(id)
//! }
//!
//! const FETCH: &str = concat!(module_path!(), "::fetch");
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! chaos::register_error(FETCH, || ApiError::Unavailable);
//! chaos::inject(FETCH, chaos::Fault::new(42).errors(1.0)).unwrap();
//! assert_eq!(fetch(7).await, Err(ApiError::Unavailable)); // 3 attempts, each failed
//!
//! chaos::stop(FETCH);
//! assert_eq!(fetch(7).await, Ok(7));
//! # }
//! ```
//!
//! # Where a fault hits
//!
//! - **A function**: where its body would run, once per attempt: under
//!   the whole stack of attributes, so `#[retry]` retries an injected
//!   error, `#[breaker]` counts it, `#[timeout]` cuts an injected hang off,
//!   and `#[fallback]` and `#[stale_cache]` answer around it. The body does
//!   not run when an error is injected.
//! - **A breaker**: a call the breaker let through fails there, before
//!   anything below the breaker runs, and the breaker counts it as a
//!   failure (its `when` predicate decides, as for a real error).
//!
//! Each call draws once: it meets the fault's latency (every call), then
//! with probability `hangs` a hang, else with probability `errors` the
//! error.
//!
//! - In an `async fn`, the latency is a `tokio::time::sleep` (a paused
//!   clock skips it) and a hang is pending forever: only a `#[timeout]`
//!   above the point, or the caller dropping the call, ends it.
//! - In a sync `fn`, the latency is a thread sleep; a hang cannot be cut
//!   off there, so it blocks for [`Fault::blocking_hang`] (30 s unless
//!   set) and then the call goes on.
//!
//! # The error
//!
//! A point fails a call with the error [`register_error`] registered for
//! the target *and the function's error type* (a breaker guarding
//! functions of two error types takes a maker for each). [`inject`] with
//! `errors > 0` is refused with [`ChaosError::NoErrorMaker`] when the
//! target has no maker at all. When it has makers but none for the error
//! type of the function at hand, no error is injected into that function
//! (latency and hangs still are), and a warning says so, once per
//! injection. With this feature on, a decorated function's error type
//! must be `'static` (makers are found by `TypeId`).
//!
//! # What it reports
//!
//! Each fault met is a warning event (target `resilience`, with
//! `function` or `breaker`, and `fault` = `error`, `latency` or `hang`), a
//! count of `chaos_injections_total{target, fault}`, and a record in the
//! request's [recovery scope](crate::recovery) (`chaos_faults`; the
//! `X-Chaos-Faults` header of `RecoveryLayer`), so an answer that met an
//! injected fault says so.
//!
//! # Cost
//!
//! Without the feature, the points compile to nothing. With it and no
//! injection, a call costs one relaxed atomic load, at its start, whatever
//! its points and attempts: each of its points reads what the call read
//! then (so an injection started during a call meets the calls that start
//! after it). A call of an
//! injected target takes a read lock and the target's generator lock.

mod dice;
mod registry;
pub(crate) mod strike;

use std::fmt;
use std::time::Duration;

/// A sync function's hang, unless [`Fault::blocking_hang`] says otherwise.
const DEFAULT_BLOCKING_HANG: Duration = Duration::from_secs(30);

/// What to inject into a target: plain values, checked by [`inject`].
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::chaos::Fault;
///
/// // A third of the calls fail, one in ten hangs, every one 200 ms late.
/// let fault = Fault::new(7)
///     .errors(0.33)
///     .hangs(0.1)
///     .latency(Duration::from_millis(200));
/// assert_eq!(fault.error_share(), 0.33);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    errors: f64,
    hangs: f64,
    latency: Duration,
    seed: u64,
    blocking_hang: Duration,
}

impl Fault {
    /// No fault yet, drawn from `seed`: the same seed and the same calls
    /// meet the same faults.
    ///
    /// ```
    /// use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).error_share(), 0.0);
    /// ```
    pub const fn new(seed: u64) -> Self {
        Self {
            errors: 0.0,
            hangs: 0.0,
            latency: Duration::ZERO,
            seed,
            blocking_hang: DEFAULT_BLOCKING_HANG,
        }
    }

    /// The share of calls, from 0 to 1, that fail with the registered
    /// error.
    ///
    /// ```
    /// use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).errors(1.0).error_share(), 1.0);
    /// ```
    #[must_use]
    pub const fn errors(mut self, share: f64) -> Self {
        self.errors = share;
        self
    }

    /// The share of calls, from 0 to 1, that hang (see the
    /// [module docs](self#where-a-fault-hits)).
    ///
    /// ```
    /// use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).hangs(0.5).hang_share(), 0.5);
    /// ```
    #[must_use]
    pub const fn hangs(mut self, share: f64) -> Self {
        self.hangs = share;
        self
    }

    /// A wait added to every call, before it goes on (or fails, or hangs).
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Fault;
    /// let slow = Fault::new(1).latency(Duration::from_millis(300));
    /// assert_eq!(slow.latency_value(), Duration::from_millis(300));
    /// ```
    #[must_use]
    pub const fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// How long a hang blocks a sync function (30 s unless set): nothing
    /// can cut a sync call off, so its hang ends, and the call goes on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::chaos::Fault;
    /// let fault = Fault::new(1).hangs(1.0).blocking_hang(Duration::from_secs(5));
    /// assert_eq!(fault.blocking_hang_value(), Duration::from_secs(5));
    /// ```
    #[must_use]
    pub const fn blocking_hang(mut self, hang: Duration) -> Self {
        self.blocking_hang = hang;
        self
    }

    /// The share of calls that fail.
    ///
    /// ```
    /// # use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).errors(0.25).error_share(), 0.25);
    /// ```
    pub const fn error_share(&self) -> f64 {
        self.errors
    }

    /// The share of calls that hang.
    ///
    /// ```
    /// # use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).hang_share(), 0.0);
    /// ```
    pub const fn hang_share(&self) -> f64 {
        self.hangs
    }

    /// The wait added to every call.
    ///
    /// ```
    /// # use resilience_runtime::chaos::Fault;
    /// assert!(Fault::new(1).latency_value().is_zero());
    /// ```
    pub const fn latency_value(&self) -> Duration {
        self.latency
    }

    /// The seed of the draws.
    ///
    /// ```
    /// # use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(9).seed_value(), 9);
    /// ```
    pub const fn seed_value(&self) -> u64 {
        self.seed
    }

    /// How long a hang blocks a sync function.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use resilience_runtime::chaos::Fault;
    /// assert_eq!(Fault::new(1).blocking_hang_value(), Duration::from_secs(30));
    /// ```
    pub const fn blocking_hang_value(&self) -> Duration {
        self.blocking_hang
    }
}

/// Why [`inject`] refused an injection.
///
/// ```
/// use resilience_runtime::chaos::{self, ChaosError, Fault};
///
/// let refused = chaos::inject("app::nothing_registered", Fault::new(1).errors(0.5));
/// assert!(matches!(refused, Err(ChaosError::NoErrorMaker { .. })));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChaosError {
    /// `errors > 0`, but no error maker was registered for the target
    /// ([`register_error`]): there is nothing to fail its calls with.
    NoErrorMaker {
        /// The target.
        target: String,
    },
    /// A share outside 0..=1 (or not a number).
    ShareOutOfRange {
        /// `errors` or `hangs`.
        share: &'static str,
        /// The value given.
        value: f64,
    },
    /// `errors + hangs` above 1: one call meets at most one of the two.
    SharesAboveOne {
        /// The share of errors given.
        errors: f64,
        /// The share of hangs given.
        hangs: f64,
    },
}

impl fmt::Display for ChaosError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChaosError::NoErrorMaker { target } => write!(
                f,
                "no error maker registered for `{target}`: register one with \
                 `chaos::register_error` before injecting errors"
            ),
            ChaosError::ShareOutOfRange { share, value } => {
                write!(f, "`{share}` must be from 0 to 1, got {value}")
            }
            ChaosError::SharesAboveOne { errors, hangs } => write!(
                f,
                "`errors` + `hangs` must be at most 1 (a call meets one of them), got {errors} + {hangs}"
            ),
        }
    }
}

impl std::error::Error for ChaosError {}

/// Registers how to make the error that fails calls of `target` whose
/// error type is `E`; it replaces an earlier maker of the same target and
/// type. Register before [`inject`]ing errors into the target.
///
/// ```
/// use resilience_runtime::chaos;
///
/// #[derive(Debug)]
/// enum PaymentError {
///     Declined,
/// }
///
/// chaos::register_error("shop::payments::charge", || PaymentError::Declined);
/// // The breaker guarding it, too:
/// chaos::register_error("payments", || PaymentError::Declined);
/// ```
pub fn register_error<E: Send + 'static>(
    target: &str,
    make: impl Fn() -> E + Send + Sync + 'static,
) {
    registry::add_maker(target, make);
}

/// Injects `fault` into `target` from now on, in place of its earlier
/// injection (whose draws start over from the new seed).
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::chaos::{self, Fault};
///
/// chaos::inject("app::geo::lookup", Fault::new(3).latency(Duration::from_millis(250))).unwrap();
/// assert_eq!(chaos::injections().len(), 1);
/// chaos::stop("app::geo::lookup");
/// ```
///
/// # Errors
///
/// A share outside 0..=1 or a sum of shares above 1, or errors asked for a
/// target with no error maker (see [`ChaosError`]); nothing is injected.
pub fn inject(target: &str, fault: Fault) -> Result<(), ChaosError> {
    for (share, value) in [("errors", fault.errors), ("hangs", fault.hangs)] {
        if !(0.0..=1.0).contains(&value) {
            return Err(ChaosError::ShareOutOfRange { share, value });
        }
    }
    if fault.errors + fault.hangs > 1.0 {
        return Err(ChaosError::SharesAboveOne {
            errors: fault.errors,
            hangs: fault.hangs,
        });
    }
    if fault.errors > 0.0 && !registry::has_maker(target) {
        return Err(ChaosError::NoErrorMaker {
            target: target.to_owned(),
        });
    }
    registry::set(target, fault);
    Ok(())
}

/// Stops injecting into `target`; whether it was injected.
///
/// ```
/// use resilience_runtime::chaos;
/// assert!(!chaos::stop("app::never_injected"));
/// ```
pub fn stop(target: &str) -> bool {
    registry::remove(target)
}

/// Stops every injection: the points are idle again.
///
/// ```
/// use resilience_runtime::chaos;
/// chaos::stop_all();
/// assert!(chaos::injections().is_empty());
/// ```
pub fn stop_all() {
    registry::clear();
}

/// Every injection in force, by target, sorted: for a status page.
///
/// ```
/// use resilience_runtime::chaos::{self, Fault};
///
/// chaos::inject("app::slow", Fault::new(1).hangs(0.1)).unwrap();
/// let listed = chaos::injections();
/// assert!(listed.contains(&("app::slow".to_owned(), Fault::new(1).hangs(0.1))));
/// chaos::stop("app::slow");
/// ```
pub fn injections() -> Vec<(String, Fault)> {
    registry::all()
}
