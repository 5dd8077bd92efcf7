//! What a breaker tells the outside world, each in one place: the
//! `tracing` event of a transition, state-change listeners, and the hook for
//! call outcomes. Metrics (`breakers_state`, `breaker_calls_total`) and the
//! recovery scope's breaker rejections are recorded in [`transition`] and
//! [`call_outcome`] and nowhere else.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, PoisonError, RwLock};

use super::meters::BreakerMeters;
use super::{Breaker, Origin, State, StateChange};

/// Why a breaker changed state: picks the event's level and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// The failure share of the window exceeded the threshold.
    FailureRate,
    /// `consecutive` calls failed in a row.
    ConsecutiveFailures,
    /// A half-open probe failed.
    ProbeFailed,
    /// Half-open probes ran past `probe_timeout` without an outcome.
    ProbeTimedOut,
    /// `open_for` passed and a call arrived.
    OpenForElapsed,
    /// Every half-open probe succeeded.
    ProbesSucceeded,
    /// `Breaker::force_open`.
    Forced,
    /// `Breaker::reset`.
    Reset,
    /// Another instance of the fleet opened it (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    FleetOpened,
    /// A probe on another instance of the fleet closed it (feature `redis`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    FleetClosed,
}

impl Cause {
    /// Where a transition of this cause comes from.
    pub(super) fn origin(self) -> Origin {
        match self {
            Cause::FleetOpened | Cause::FleetClosed => Origin::Fleet,
            _ => Origin::Local,
        }
    }

    /// The event's message.
    fn describe(self) -> &'static str {
        match self {
            Cause::FailureRate => {
                "circuit breaker opened: the failure rate of its window exceeds the threshold"
            }
            Cause::ConsecutiveFailures => {
                "circuit breaker opened: `consecutive` calls failed in a row"
            }
            Cause::ProbeFailed => "circuit breaker opened again: a probe call failed",
            Cause::ProbeTimedOut => {
                "circuit breaker opened again: a probe call did not end within probe_timeout"
            }
            Cause::Forced => "circuit breaker forced open",
            Cause::OpenForElapsed => "circuit breaker half-open: letting probe calls through",
            Cause::ProbesSucceeded => "circuit breaker closed: every probe call succeeded",
            Cause::Reset => "circuit breaker reset",
            Cause::FleetOpened => "circuit breaker opened by the fleet: another instance opened it",
            Cause::FleetClosed => {
                "circuit breaker closed by the fleet: a probe succeeded on another instance"
            }
        }
    }
}

/// A transition waiting to be told, in the order transitions happened.
#[derive(Debug, Clone, Copy)]
pub(super) struct Transition {
    pub(super) change: StateChange,
    pub(super) cause: Cause,
    /// The failure share that decided it, where one did.
    pub(super) failure_rate: Option<f64>,
}

/// How a call through a breaker ended, for [`call_outcome`]: the `outcome`
/// label of `breaker_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallOutcome {
    Success = 0,
    Failure = 1,
    Rejected = 2,
}

impl CallOutcome {
    /// Every outcome, in discriminant order.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const ALL: [Self; 3] = [Self::Success, Self::Failure, Self::Rejected];

    /// The label value.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Rejected => "rejected",
        }
    }
}

/// The hook every call outcome goes through: `breaker_calls_total{outcome}`
/// through the breaker's registered handles. Called on the closed path, so whatever goes here must not
/// lock, allocate or format, nor write a cache line other threads write.
///
/// Outcomes reach the counters in per-thread batches (`tally.rs`): all of
/// the thread's kept outcomes at once when `hand_over` (every failure and
/// probe outcome, every success whose thread read the clock afresh for it
/// unless it calls at full speed, and every rejection that read it afresh),
/// else every `TALLY_LIMIT` (256) outcomes of a kind, and whatever is kept
/// when the thread exits or `crate::flush_metrics` runs. A counter lags by
/// at most 255 outcomes per thread and kind until then.
#[inline(always)]
pub(super) fn call_outcome(breaker: &Breaker, outcome: CallOutcome, hand_over: bool) {
    if BreakerMeters::ENABLED {
        breaker.meters().count(outcome, hand_over);
    }
}

/// The hook every transition goes through, once, in order: the
/// `breakers_state` gauge and the `tracing` event (opening is a warning, the
/// rest are informational).
pub(super) fn transition(breaker: &Breaker, transition: &Transition) {
    let Transition {
        change,
        cause,
        failure_rate,
    } = *transition;
    breaker.meters().state(change.to);
    let key = breaker.key();
    let breaker = change.name;
    let state = change.to.as_str();
    let origin = change.origin.as_str();
    // A callsite's level is static: one event for openings, one for the rest.
    if matches!(change.to, State::Open) {
        tracing::warn!(target: "resilience", breaker, key, state, origin, failure_rate, "{}", cause.describe());
    } else {
        tracing::info!(target: "resilience", breaker, key, state, origin, failure_rate, "{}", cause.describe());
    }
}

type Listener = Arc<dyn Fn(&StateChange) + Send + Sync>;

/// State-change listeners of one breaker, or of the whole registry.
pub(super) struct Listeners(RwLock<Vec<Listener>>);

impl Listeners {
    pub(super) const fn new() -> Self {
        Self(RwLock::new(Vec::new()))
    }

    pub(super) fn add(&self, listener: impl Fn(&StateChange) + Send + Sync + 'static) {
        let mut listeners = self.0.write().unwrap_or_else(PoisonError::into_inner);
        listeners.push(Arc::new(listener));
    }

    /// Calls every listener with `change`. The list is copied first, so a
    /// listener may itself add listeners or drive the breaker; a listener
    /// that panics is reported and the others still run.
    pub(super) fn notify(&self, change: &StateChange) {
        let listeners = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for listener in listeners {
            if catch_unwind(AssertUnwindSafe(|| listener(change))).is_err() {
                tracing::error!(
                    target: "resilience", breaker = change.name, state = change.to.as_str(),
                    "a circuit-breaker state-change listener panicked; the breaker is unaffected"
                );
            }
        }
    }
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self.0.read().unwrap_or_else(PoisonError::into_inner).len();
        write!(f, "{count} listener(s)")
    }
}
