//! A breaker's metrics: `breaker_calls_total{breaker, outcome}` (counted
//! through its name's [`CallTally`]) and `breakers_state{breaker}`.

use super::tally::CallTally;
use super::{CallOutcome, State};
use crate::meters::{self, Gauge, GaugeDef};

/// 0 closed, 1 open, 2 half-open.
static BREAKERS_STATE: GaugeDef = GaugeDef::new(
    "breakers_state",
    "State of each circuit breaker: 0 closed, 1 open, 2 half-open",
);

/// A breaker's handles, registered when the breaker is built.
pub(crate) struct BreakerMeters {
    calls: CallTally,
    /// `None` for the breaker of one key of a keyed name.
    state: Option<Gauge>,
}

impl BreakerMeters {
    /// Registers the handles of breaker `name`, and sets its state gauge
    /// to closed so the series exists before the first transition.
    pub(crate) fn register(name: &'static str) -> Self {
        let state = BREAKERS_STATE.register(&[("breaker", name)]);
        state.set(f64::from(State::Closed.as_gauge()));
        Self {
            calls: CallTally::register(name),
            state: Some(state),
        }
    }

    /// The handles of one key's breaker of a keyed name: the name's call
    /// tally, shared by all its keys, and no state gauge (a series per key
    /// would make the labels unbounded; one series for many states would
    /// mean nothing).
    pub(crate) fn keyed(calls: CallTally) -> Self {
        Self { calls, state: None }
    }

    /// Whether there are counters to count into: callers skip their
    /// per-thread tallies when not.
    pub(crate) const ENABLED: bool = meters::ENABLED;

    /// One call ended with `outcome`: counted in the calling thread's
    /// tally, and the thread's batch handed over now if `hand_over`.
    #[inline]
    pub(crate) fn count(&self, outcome: CallOutcome, hand_over: bool) {
        self.calls.count(outcome, hand_over);
    }

    /// The breaker entered `state`.
    pub(crate) fn state(&self, state: State) {
        if let Some(gauge) = &self.state {
            gauge.set(f64::from(state.as_gauge()));
        }
    }
}
