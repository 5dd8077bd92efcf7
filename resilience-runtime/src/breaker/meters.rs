//! A breaker's metrics: `breaker_calls_total{breaker, outcome}` and
//! `breakers_state{breaker}`.

use super::{CallOutcome, State};
use crate::meters::{self, Counter, CounterDef, Gauge, GaugeDef};

static BREAKER_CALLS_TOTAL: CounterDef = CounterDef::new(
    "breaker_calls_total",
    "Calls through each circuit breaker, by outcome: success, failure, rejected",
);

/// 0 closed, 1 open, 2 half-open.
static BREAKERS_STATE: GaugeDef = GaugeDef::new(
    "breakers_state",
    "State of each circuit breaker: 0 closed, 1 open, 2 half-open",
);

/// A breaker's handles, registered when the breaker is built.
pub(crate) struct BreakerMeters {
    /// Indexed by `CallOutcome as usize`.
    calls: [Counter; 3],
    /// `None` for the breaker of one key of a keyed name.
    state: Option<Gauge>,
}

impl BreakerMeters {
    /// Registers the handles of breaker `name`, and sets its state gauge
    /// to closed so the series exists before the first transition.
    pub(crate) fn register(name: &'static str) -> Self {
        let mut meters = Self::register_keyed(name);
        let state = BREAKERS_STATE.register(&[("breaker", name)]);
        state.set(f64::from(State::Closed.as_gauge()));
        meters.state = Some(state);
        meters
    }

    /// The handles of one key's breaker of the keyed name `name`: the
    /// name's call counters, shared by all its keys, and no state gauge
    /// (a series per key would make the labels unbounded; one series
    /// for many states would mean nothing).
    pub(crate) fn register_keyed(name: &'static str) -> Self {
        let calls = CallOutcome::ALL.map(|outcome| {
            BREAKER_CALLS_TOTAL.register(&[("breaker", name), ("outcome", outcome.as_str())])
        });
        Self { calls, state: None }
    }

    /// Whether there are counters to count into: callers skip their
    /// per-thread tallies when not.
    pub(crate) const ENABLED: bool = meters::ENABLED;

    /// `calls` calls ended with `outcome`: an increment of a held handle.
    /// The breaker batches its calls per thread (`breaker::events`), so
    /// that threads do not write one shared counter on every call.
    #[inline]
    pub(crate) fn add(&self, outcome: CallOutcome, calls: u64) {
        self.calls[outcome as usize].increment(calls);
    }

    /// The breaker entered `state`.
    pub(crate) fn state(&self, state: State) {
        if let Some(gauge) = &self.state {
            gauge.set(f64::from(state.as_gauge()));
        }
    }
}
