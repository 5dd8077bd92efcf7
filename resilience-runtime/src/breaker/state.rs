//! What a breaker reports about itself: [`State`], [`StateChange`],
//! [`WindowCounts`].

use std::fmt;
use std::time::Duration;

/// Where a circuit breaker is in its cycle.
///
/// ```
/// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
///
/// let breaker = Breaker::new("inventory", BreakerConfig::new());
/// assert_eq!(breaker.state(), State::Closed);
/// breaker.force_open();
/// assert_eq!(breaker.state(), State::Open);
/// assert_eq!(State::HalfOpen.to_string(), "half-open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls go through; their outcomes are counted in the window.
    Closed,
    /// Calls are rejected with [`CircuitOpen`](super::CircuitOpen) until
    /// `open_for` has passed.
    Open,
    /// A few probe calls go through, the rest are rejected; the probes decide
    /// between closed and open.
    HalfOpen,
}

impl State {
    /// The state's name in events: `closed`, `open`, `half-open`.
    ///
    /// ```
    /// # use resilience_runtime::breaker::State;
    /// assert_eq!(State::Open.as_str(), "open");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }

    /// The value of the `breakers_state` gauge: 0 closed, 1 open, 2 half-open.
    ///
    /// ```
    /// # use resilience_runtime::breaker::State;
    /// assert_eq!(State::HalfOpen.as_gauge(), 2);
    /// ```
    pub const fn as_gauge(self) -> u8 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One transition of one breaker, as its state-change listeners see it.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use resilience_runtime::breaker::{Breaker, BreakerConfig, State, StateChange};
///
/// let breaker = Breaker::new("search", BreakerConfig::new());
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&seen);
/// breaker.on_state_change(move |change: &StateChange| log.lock().unwrap().push(*change));
///
/// breaker.force_open();
/// let change = seen.lock().unwrap()[0];
/// assert_eq!((change.name, change.from, change.to), ("search", State::Closed, State::Open));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// The breaker's name.
    pub name: &'static str,
    /// The state it left.
    pub from: State,
    /// The state it entered.
    pub to: State,
    /// Where the change came from: this process, or another instance of the
    /// fleet (a breaker with `shared = true`, feature `redis`).
    pub origin: Origin,
}

/// Where a breaker's state change came from.
///
/// ```
/// use resilience_runtime::breaker::Origin;
/// assert_eq!(Origin::Fleet.as_str(), "fleet");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// This process: its own window, probes, `reset` or `force_open`.
    Local,
    /// Another instance of the fleet, over Redis (feature `redis`).
    Fleet,
}

impl Origin {
    /// The name in events: `local`, `fleet`.
    ///
    /// ```
    /// # use resilience_runtime::breaker::Origin;
    /// assert_eq!(Origin::Local.as_str(), "local");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Origin::Local => "local",
            Origin::Fleet => "fleet",
        }
    }
}

/// Outcomes counted in a breaker's current window.
///
/// Only calls made while closed are counted; probes are judged on their own,
/// and closing the breaker starts an empty window.
///
/// ```
/// use resilience_runtime::breaker::{Breaker, BreakerConfig, WindowCounts};
///
/// let breaker = Breaker::new("mailer", BreakerConfig::new());
/// breaker.try_acquire().unwrap().record(false);
/// breaker.try_acquire().unwrap().record(true);
/// let counts = breaker.counts();
/// assert_eq!(counts, WindowCounts { successes: 1, failures: 1 });
/// assert_eq!(counts.calls(), 2);
/// assert_eq!(counts.failure_rate(), Some(0.5));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct WindowCounts {
    /// Calls that succeeded (or failed with an error the `when` predicate
    /// does not count).
    pub successes: u64,
    /// Calls that failed.
    pub failures: u64,
}

impl WindowCounts {
    /// Successes and failures together.
    ///
    /// ```
    /// # use resilience_runtime::breaker::WindowCounts;
    /// assert_eq!(WindowCounts { successes: 3, failures: 1 }.calls(), 4);
    /// ```
    pub const fn calls(&self) -> u64 {
        self.successes.saturating_add(self.failures)
    }

    /// The failure share, or `None` when the window holds no call.
    ///
    /// ```
    /// # use resilience_runtime::breaker::WindowCounts;
    /// assert_eq!(WindowCounts { successes: 3, failures: 1 }.failure_rate(), Some(0.25));
    /// assert_eq!(WindowCounts::default().failure_rate(), None);
    /// ```
    pub fn failure_rate(&self) -> Option<f64> {
        let calls = self.calls();
        (calls > 0).then(|| self.failures as f64 / calls as f64)
    }
}

/// Where an open breaker stands in its `open_for`: see
/// [`Breaker::open_period`](super::Breaker::open_period).
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::{Breaker, BreakerConfig};
///
/// let breaker = Breaker::new("rates", BreakerConfig::new().open_for(Duration::from_secs(10)));
/// breaker.force_open();
/// let period = breaker.open_period().expect("open");
/// assert!(period.open_so_far < Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenPeriod {
    /// How long it has been open (on the crate's clock).
    pub open_so_far: Duration,
    /// How long until a call may probe.
    pub next_probe_in: Duration,
}
