//! [`BreakerConfig`]: when a breaker opens, and how it probes its way back.

use std::time::Duration;

/// The default quorum of a shared breaker: evidence from two replicas.
const DEFAULT_QUORUM: u32 = 2;

/// When a circuit breaker opens and how it recovers.
///
/// What `#[breaker(...)]` builds from its keys, as a `static` in the decorated
/// function. Plain data with `const` builders, like
/// [`RetryPolicy`](crate::RetryPolicy).
///
/// | builder | meaning | default |
/// | --- | --- | --- |
/// | [`failure_rate`](Self::failure_rate) | open when the failure share of the window *exceeds* it | 0.5 |
/// | [`consecutive`](Self::consecutive) | open after this many failures in a row instead (pybreaker's `fail_max`) | off |
/// | [`throttle`](Self::throttle) | never open: reject a share of calls that grows with the failures instead (client-side throttling) | off |
/// | [`window`](Self::window) | time-based sliding window the share is measured over | 10 s |
/// | [`min_calls`](Self::min_calls) | calls in the window before the share is judged | 20 |
/// | [`open_for`](Self::open_for) | how long the breaker stays open before probing | 60 s |
/// | [`half_open_calls`](Self::half_open_calls) | probe calls let through at once while half-open | 1 |
/// | [`probe_timeout`](Self::probe_timeout) | a probe not ended by then counts as failed | `open_for` |
/// | `shared` (feature `redis`) | open and half-open state shared over the fleet | `false` |
/// | `quorum` (feature `redis`) | replicas whose openings open the fleet | 2 |
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::BreakerConfig;
///
/// const PAYMENTS: BreakerConfig = BreakerConfig::new()
///     .failure_rate(0.25)
///     .window(Duration::from_secs(30))
///     .open_for(Duration::from_secs(15));
///
/// assert_eq!(PAYMENTS.failure_rate_value(), 0.25);
/// assert_eq!(PAYMENTS.min_calls_value(), 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    failure_rate: f64,
    window: Duration,
    min_calls: u32,
    open_for: Duration,
    half_open_calls: u32,
    /// `None`: as long as `open_for`.
    probe_timeout: Option<Duration>,
    /// Open and half-open state shared over the fleet (feature `redis`).
    shared: bool,
    /// Distinct replicas that must open it within `open_for` before the
    /// fleet opens (feature `redis`).
    quorum: u32,
    /// Failures in a row that open it, in place of the rate rule; 0: off.
    consecutive: u32,
    /// Client-side throttling's K, in place of opening; 0: off.
    throttle: f64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl BreakerConfig {
    /// The default configuration (see the type's docs).
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new(), BreakerConfig::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            failure_rate: 0.5,
            window: Duration::from_secs(10),
            min_calls: 20,
            open_for: Duration::from_secs(60),
            half_open_calls: 1,
            probe_timeout: None,
            shared: false,
            quorum: DEFAULT_QUORUM,
            consecutive: 0,
            throttle: 0.0,
        }
    }

    /// The breaker opens when failures make up *more than* this share of the
    /// calls in the window: with 0.5, 10 failures in 20 calls keep it
    /// closed and 11 in 21 open it. Values are clamped to `[0, 1]`; 1 never
    /// opens on the rate (only [`Breaker::force_open`](super::Breaker::force_open)
    /// opens it), 0 opens on the first failure once `min_calls` calls were
    /// made. NaN keeps the previous value.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().failure_rate(0.2).failure_rate_value(), 0.2);
    /// assert_eq!(BreakerConfig::new().failure_rate(7.0).failure_rate_value(), 1.0);
    /// ```
    pub const fn failure_rate(mut self, rate: f64) -> Self {
        #[allow(clippy::eq_op)] // `rate != rate` is the const NaN test
        let is_nan = rate != rate;
        if !is_nan {
            self.failure_rate = if rate < 0.0 {
                0.0
            } else if rate > 1.0 {
                1.0
            } else {
                rate
            };
        }
        self
    }

    /// Opens the breaker after `failures` failures in a row while closed,
    /// whatever the window's share (pybreaker's `fail_max`, exactly): one
    /// success starts the count over. The rate rule is off then —
    /// [`failure_rate`](Self::failure_rate) and
    /// [`min_calls`](Self::min_calls) do not apply; the window still counts
    /// calls for [`Breaker::counts`](super::Breaker::counts). 0 turns the
    /// rule off again (the rate rule decides).
    ///
    /// ```
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    ///
    /// let breaker = Breaker::new("ledger", BreakerConfig::new().consecutive(3));
    /// for failed in [true, true, false, true, true] {
    ///     breaker.try_acquire().unwrap().record(failed);
    /// }
    /// assert_eq!(breaker.state(), State::Closed, "a success started the count over");
    /// breaker.try_acquire().unwrap().record(true);
    /// assert_eq!(breaker.state(), State::Open, "three in a row");
    /// ```
    pub const fn consecutive(mut self, failures: u32) -> Self {
        self.consecutive = failures;
        self
    }

    /// Failures in a row that open the breaker, if that is its rule.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().consecutive_value(), None);
    /// assert_eq!(BreakerConfig::new().consecutive(5).consecutive_value(), Some(5));
    /// ```
    pub const fn consecutive_value(&self) -> Option<u32> {
        if self.consecutive == 0 {
            None
        } else {
            Some(self.consecutive)
        }
    }

    /// Throttles instead of opening (Google SRE's client-side throttling):
    /// the breaker never opens, never flaps; each call is rejected with
    /// probability
    ///
    /// > max(0, (requests − `k` × accepts) / (requests + 1))
    ///
    /// where requests are the calls of the window (those it rejected
    /// included) and accepts the ones that succeeded. A healthy dependency
    /// is never throttled; one failing half its calls sees about `k` times
    /// the calls it accepts, and load comes back as successes do, without
    /// waiting out an `open_for`. `k = 2` is the SRE book's choice; lower
    /// sheds sooner (it is kept at 1 or more). The rate rule is off
    /// (`failure_rate`, `min_calls`, `open_for` and the probes do not
    /// apply); a rejection is [`CircuitOpen`](super::CircuitOpen) with no
    /// wait. 0 turns it off again.
    ///
    /// ```
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    ///
    /// let breaker = Breaker::new("search", BreakerConfig::new().throttle(2.0));
    /// for _ in 0..20 {
    ///     if let Ok(permit) = breaker.try_acquire() {
    ///         permit.record(true); // the dependency is down
    ///     }
    /// }
    /// assert_eq!(breaker.state(), State::Closed, "throttled, never opened");
    /// assert!(breaker.throttle_probability() > 0.9);
    /// ```
    pub const fn throttle(mut self, k: f64) -> Self {
        #[allow(clippy::eq_op)] // `k != k` is the const NaN test
        let is_nan = k != k;
        if !is_nan {
            self.throttle = if k <= 0.0 {
                0.0
            } else if k < 1.0 {
                1.0
            } else {
                k
            };
        }
        self
    }

    /// Client-side throttling's `k`, if that is the breaker's rule.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().throttle_value(), None);
    /// assert_eq!(BreakerConfig::new().throttle(2.0).throttle_value(), Some(2.0));
    /// assert_eq!(BreakerConfig::new().throttle(0.5).throttle_value(), Some(1.0));
    /// ```
    pub const fn throttle_value(&self) -> Option<f64> {
        if self.throttle > 0.0 {
            Some(self.throttle)
        } else {
            None
        }
    }

    /// The time-based sliding window over which the failure share is
    /// measured.
    ///
    /// The window is kept as 10 buckets of `window / 10` each, so a call stops
    /// counting between 0.9 × `window` and `window` after it ended — never
    /// later. A zero window is treated as 10 ns.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// let config = BreakerConfig::new().window(Duration::from_secs(30));
    /// assert_eq!(config.window_value(), Duration::from_secs(30));
    /// ```
    pub const fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Calls that must have ended in the window before its failure share is
    /// judged at all: below it the breaker never opens, so one failure out of
    /// one call after a quiet night does not cut a service off.
    ///
    /// The default, 20, is Hystrix's `requestVolumeThreshold` over the same
    /// 10 s default window: enough calls for a share to mean something,
    /// few enough that a dependency failing under modest traffic (2 calls a
    /// second) is still cut off within one window. Services with less traffic
    /// than that should lower it. 0 is treated as 1.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().min_calls(5).min_calls_value(), 5);
    /// assert_eq!(BreakerConfig::new().min_calls(0).min_calls_value(), 1);
    /// ```
    pub const fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = if calls == 0 { 1 } else { calls };
        self
    }

    /// How long the breaker stays open, rejecting every call, before it lets
    /// probe calls through (pybreaker's `reset_timeout`).
    ///
    /// A sync call outside a tokio runtime is judged on its thread's reading
    /// of the clock from the same coarse clock tick, so it may still be
    /// rejected up to one tick past `open_for`: 4 ms on Linux at 250 Hz,
    /// 10 to 16 ms on Windows, none on macOS, where the clock is read
    /// exactly (each platform's tick: [the crate docs](crate#time)). Inside
    /// a runtime the clock is read exactly.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// let config = BreakerConfig::new().open_for(Duration::from_secs(5));
    /// assert_eq!(config.open_for_value(), Duration::from_secs(5));
    /// ```
    pub const fn open_for(mut self, open_for: Duration) -> Self {
        self.open_for = open_for;
        self
    }

    /// Probe calls let through at once while half-open; when that many have
    /// all succeeded the breaker closes, and the first that fails opens it
    /// again. Calls beyond it are rejected while the probes run.
    ///
    /// The default, 1, is pybreaker's single trial call and Hystrix's single
    /// test request: a dependency that is still down gets one request, not a
    /// burst, and one success is taken as recovery — the window then judges
    /// it again under real traffic. Raise it to demand more evidence before
    /// closing. 0 is treated as 1.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().half_open_calls(3).half_open_calls_value(), 3);
    /// assert_eq!(BreakerConfig::new().half_open_calls(0).half_open_calls_value(), 1);
    /// ```
    pub const fn half_open_calls(mut self, calls: u32) -> Self {
        self.half_open_calls = if calls == 0 { 1 } else { calls };
        self
    }

    /// How long half-open probes may run before they count as failed.
    ///
    /// A probe whose call hangs (a dead connection), or whose future is kept
    /// but never polled, would otherwise hold the breaker half-open — rejecting
    /// every other call — for as long as it lives. When every probe slot is
    /// taken and the last probe was let through at least this long ago, the
    /// next call opens the breaker again (cause: the probe timed out), and
    /// probing starts over after `open_for`. A late outcome of such a probe
    /// is ignored. Defaults to `open_for`.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// let config = BreakerConfig::new().open_for(Duration::from_secs(30));
    /// assert_eq!(config.probe_timeout_value(), Duration::from_secs(30));
    /// let config = config.probe_timeout(Duration::from_secs(5));
    /// assert_eq!(config.probe_timeout_value(), Duration::from_secs(5));
    /// ```
    pub const fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = Some(timeout);
        self
    }

    /// How long probes may run before they count as failed: the one set
    /// with [`probe_timeout`](Self::probe_timeout), else `open_for`.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// assert_eq!(BreakerConfig::new().probe_timeout_value(), Duration::from_secs(60));
    /// ```
    pub const fn probe_timeout_value(&self) -> Duration {
        match self.probe_timeout {
            Some(timeout) => timeout,
            None => self.open_for,
        }
    }

    /// Shares the breaker's open and half-open state with every instance
    /// connected to the process's fleet (see [`crate::fleet`]): once
    /// [`quorum`](Self::quorum) instances opened it, it opens everywhere
    /// until the same moment (each for at most its own `open_for` from when
    /// it heard), and one probe at a time runs across the fleet. The closed
    /// path stays local. What `#[breaker(shared = true)]` sets.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert!(BreakerConfig::new().shared(true).shared_value());
    /// ```
    #[cfg(feature = "redis")]
    pub const fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }

    /// Whether the state is shared over the fleet.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert!(!BreakerConfig::new().shared_value());
    /// ```
    #[cfg(feature = "redis")]
    pub const fn shared_value(&self) -> bool {
        self.shared
    }

    /// With [`shared`](Self::shared): how many distinct instances must
    /// have opened the breaker, each on its own evidence, within
    /// `open_for` before it opens across the fleet. What
    /// `#[breaker(shared = true, quorum = n)]` sets.
    ///
    /// Each instance still opens at once on its own window; the quorum
    /// decides only when that opening is spread. An instance that opened
    /// records a vote in Redis (its instance id, dated by Redis's clock);
    /// the vote that makes `n` within the last `open_for` publishes "open
    /// until T", and every instance opens. Below the quorum an opening
    /// stays local: the instance probes on its own, and its closing closes
    /// only itself. 1 is the behaviour without a quorum: any instance's
    /// opening opens all. 0 is treated as 1.
    ///
    /// The default, 2, asks for evidence from more than one replica: one
    /// replica's bad network path (its zone's route, its node's NIC) never
    /// opens the others — the reason Polly and resilience4j refused shared
    /// breakers — while an outage that every replica sees opens the fleet as
    /// soon as the second replica opens. It is the one value that works for
    /// every fleet: a larger one is never reached by a fleet smaller than
    /// it. A single replica never reaches 2 and so never opens "the fleet";
    /// it loses nothing, since it opens itself on its own evidence. When
    /// replicas share paths (several per zone), set it above the number
    /// that share one.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().quorum_value(), 2);
    /// let config = BreakerConfig::new().shared(true).quorum(3);
    /// assert_eq!(config.quorum_value(), 3);
    /// assert_eq!(BreakerConfig::new().quorum(0).quorum_value(), 1);
    /// ```
    #[cfg(feature = "redis")]
    pub const fn quorum(mut self, replicas: u32) -> Self {
        self.quorum = if replicas == 0 { 1 } else { replicas };
        self
    }

    /// How many instances must open the breaker before the fleet does.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().quorum(1).quorum_value(), 1);
    /// ```
    #[cfg(feature = "redis")]
    pub const fn quorum_value(&self) -> u32 {
        self.quorum
    }

    /// The failure share above which the breaker opens.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().failure_rate_value(), 0.5);
    /// ```
    pub const fn failure_rate_value(&self) -> f64 {
        self.failure_rate
    }

    /// The sliding window.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// assert_eq!(BreakerConfig::new().window_value(), Duration::from_secs(10));
    /// ```
    pub const fn window_value(&self) -> Duration {
        self.window
    }

    /// Calls in the window before the share is judged.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().min_calls_value(), 20);
    /// ```
    pub const fn min_calls_value(&self) -> u32 {
        self.min_calls
    }

    /// How long the breaker stays open before probing.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// # use std::time::Duration;
    /// assert_eq!(BreakerConfig::new().open_for_value(), Duration::from_secs(60));
    /// ```
    pub const fn open_for_value(&self) -> Duration {
        self.open_for
    }

    /// Probe calls let through at once while half-open.
    ///
    /// ```
    /// # use resilience_runtime::breaker::BreakerConfig;
    /// assert_eq!(BreakerConfig::new().half_open_calls_value(), 1);
    /// ```
    pub const fn half_open_calls_value(&self) -> u32 {
        self.half_open_calls
    }

    /// The failure share when it is strictly above `failure_rate`, whatever
    /// the number of calls.
    pub(crate) fn above_rate(&self, calls: u64, failures: u64) -> Option<f64> {
        if calls == 0 {
            return None;
        }
        // A quotient, not `failures > rate * calls`: a correctly rounded
        // quotient equals the literal it is compared with when the real
        // numbers are equal, so "equal does not open" holds exactly.
        let rate = failures as f64 / calls as f64;
        (rate > self.failure_rate).then_some(rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_share_does_not_trip_and_a_larger_one_does() {
        let config = BreakerConfig::new().failure_rate(0.3);
        assert_eq!(config.above_rate(10, 3), None);
        assert_eq!(config.above_rate(10, 4), Some(0.4));
        let half = BreakerConfig::new();
        assert_eq!(half.above_rate(20, 10), None);
        assert_eq!(half.above_rate(21, 11), Some(11.0 / 21.0));
        assert_eq!(half.above_rate(0, 0), None);
    }

    #[test]
    fn rate_of_one_never_trips_and_nan_is_ignored() {
        let config = BreakerConfig::new().failure_rate(1.0).min_calls(1);
        assert_eq!(config.above_rate(100, 100), None);
        assert_eq!(
            BreakerConfig::new()
                .failure_rate(f64::NAN)
                .failure_rate_value(),
            0.5
        );
        assert_eq!(
            BreakerConfig::new().failure_rate(-1.0).failure_rate_value(),
            0.0
        );
    }
}
