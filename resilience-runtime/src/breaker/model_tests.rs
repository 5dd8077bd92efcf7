//! Model-based test: random sequences of calls, held permits, time steps,
//! resets and forced openings, run against a [`Breaker`] on paused time and
//! against a small reference model of the state machine written from the
//! spec. Both must agree on every accept/reject decision (and its
//! `retry_after`), on the state, on the window's counts and on the
//! transitions the listeners hear.
//!
//! The model judges every outcome (the spec's rule), and lets a hung probe
//! go once `probe_timeout` has passed since the last probe was let through.
//!
//! The model's window is the documented 10-bucket window ("a call counts
//! until 10 buckets of `window / 10` have begun after its own"), which is the
//! exact sliding window when time moves in whole buckets.
//!
//! The model dates each outcome as `clock.rs` documents it: a success at
//! the thread's recent reading ([`RecentClock`], the documented stride
//! rule); a failure, a rejection and every decision under the lock at the
//! exact time. It judges each
//! outcome at its date. Two runs:
//!
//! - time in whole buckets of a 10 s window: every reading is exact (the
//!   clock stands still or moves by more than its bound), which the test
//!   checks — so the breaker takes exactly the exact model's decisions;
//! - time in steps of 0 to 250 µs on a 2 ms window: readings are reused
//!   across calls, dates lag, and the breaker must still take exactly the
//!   decisions of the exact model on those dates (each date one of a
//!   reading's at most 64 calls, as documented).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::clock::{MAX_STRIDE, STALE_BOUND};

/// The window and the unit of `Op::Advance` of one run.
#[derive(Debug, Clone, Copy)]
struct Scale {
    window: Duration,
    step: Duration,
    /// The unit of `open_for` and `probe_timeout`.
    unit: Duration,
}

/// Whole buckets of a 10 s window.
const BUCKETS: Scale = Scale {
    window: Duration::from_secs(10),
    step: Duration::from_secs(1),
    unit: Duration::from_millis(500),
};

/// 25 µs steps on a 2 ms window (buckets of 200 µs): a step of up to 4 is
/// within the clock's `STALE_BOUND`.
const MICROS: Scale = Scale {
    window: Duration::from_millis(2),
    step: Duration::from_micros(25),
    unit: Duration::from_micros(50),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Success,
    Failure,
    Drop,
}

#[derive(Debug, Clone)]
enum Op {
    /// Acquire, and end the call at once.
    Call(End),
    /// Acquire, and keep the permit for later.
    Hold,
    /// End the held permit `index % held.len()`.
    Finish(usize, End),
    /// Move time by this many buckets.
    Advance(u32),
    Reset,
    ForceOpen,
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![4 => Just(End::Success), 4 => Just(End::Failure), 1 => Just(End::Drop)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => end().prop_map(Op::Call),
        2 => Just(Op::Hold),
        3 => (any::<usize>(), end()).prop_map(|(index, end)| Op::Finish(index, end)),
        5 => prop_oneof![3 => 0u32..5, 1 => 0u32..14].prop_map(Op::Advance),
        1 => Just(Op::Reset),
        1 => Just(Op::ForceOpen),
    ]
}

fn config(scale: Scale) -> impl Strategy<Value = BreakerConfig> {
    (
        prop_oneof![Just(0.0), Just(0.25), Just(0.5), Just(0.75), Just(1.0)],
        1u32..8,
        1u32..40,
        1u32..4,
        prop::option::of(1u32..40),
    )
        .prop_map(
            move |(rate, min_calls, open_for, half_open_calls, probe_timeout)| {
                let config = BreakerConfig::new()
                    .failure_rate(rate)
                    .min_calls(min_calls)
                    .window(scale.window)
                    .open_for(scale.unit * open_for)
                    .half_open_calls(half_open_calls);
                match probe_timeout {
                    Some(units) => config.probe_timeout(scale.unit * units),
                    None => config,
                }
            },
        )
}

/// The thread's recent reading of the clock, as `clock.rs` documents it: an
/// exact reading is reused for a stride of calls; the stride doubles (to
/// `MAX_STRIDE`) while a stride spans at most `STALE_BOUND`, and drops to 1
/// when the clock stood still or moved more than that. A fresh reading
/// starts it over at stride 1.
#[derive(Debug, Default)]
struct RecentClock {
    at: Option<Duration>,
    left: u32,
    stride: u32,
    /// Calls that reused the reading, for the documented bound.
    uses: u32,
}

impl RecentClock {
    /// The reading, and whether it was read for this call.
    fn recent(&mut self, now: Duration) -> (Duration, bool) {
        if let Some(at) = self.at.filter(|_| self.left > 0) {
            self.left -= 1;
            self.uses += 1;
            // The documented bound: a reading serves at most 63 calls after
            // its own, and lags at most `STALE_BOUND` unless time moved by
            // more than that since (a pause in the calls).
            assert!(self.uses < MAX_STRIDE);
            return (at, false);
        }
        let moved = self.at.map_or(Duration::ZERO, |at| now - at);
        self.stride = if moved.is_zero() || moved > STALE_BOUND {
            1
        } else {
            (self.stride * 2).min(MAX_STRIDE)
        };
        (self.read(now, self.stride), true)
    }

    fn fresh(&mut self, now: Duration) -> Duration {
        self.read(now, 1)
    }

    fn read(&mut self, now: Duration, stride: u32) -> Duration {
        self.at = Some(now);
        self.stride = stride;
        self.left = stride - 1;
        self.uses = 0;
        now
    }
}

#[derive(Debug, Clone, Copy)]
enum Ticket {
    Closed { generation: u64 },
    Probe { episode: u64 },
}

/// The state machine as the spec states it, with nothing clever in it.
struct Model {
    config: BreakerConfig,
    now: Duration,
    clock: RecentClock,
    /// Every date given was the exact time (the whole-bucket run checks it).
    all_exact: bool,
    state: State,
    /// Bumped whenever the window is emptied (closing, reset).
    generation: u64,
    /// Bumped by every transition; probes of older episodes are ignored.
    episode: u64,
    opened_at: Duration,
    open_until: Duration,
    in_flight: u32,
    succeeded: u32,
    /// When the last probe of this half-open episode was let through.
    last_probe_at: Duration,
    /// Every call ended while its permit was a closed one: its date,
    /// whether it failed, and the generation it was acquired in.
    calls: Vec<(Duration, bool, u64)>,
    transitions: Vec<(State, State)>,
}

impl Model {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            now: Duration::ZERO,
            // `Breaker::new` reads the clock exactly.
            clock: RecentClock {
                at: Some(Duration::ZERO),
                stride: 1,
                ..RecentClock::default()
            },
            all_exact: true,
            state: State::Closed,
            generation: 0,
            episode: 0,
            opened_at: Duration::ZERO,
            open_until: Duration::ZERO,
            in_flight: 0,
            succeeded: 0,
            last_probe_at: Duration::ZERO,
            calls: Vec::new(),
            transitions: Vec::new(),
        }
    }

    fn go(&mut self, to: State) {
        if self.state != to {
            self.transitions.push((self.state, to));
        }
        self.state = to;
        self.episode += 1;
        self.in_flight = 0;
        self.succeeded = 0;
    }

    /// Opens it for `open_for` from `at`.
    fn open(&mut self, at: Duration) {
        self.opened_at = at;
        self.open_until = at + self.config.open_for_value();
        self.go(State::Open);
    }

    fn recent(&mut self) -> (Duration, bool) {
        let (at, fresh) = self.clock.recent(self.now);
        self.all_exact &= at == self.now;
        (at, fresh)
    }

    fn fresh(&mut self) -> Duration {
        self.clock.fresh(self.now)
    }

    /// Calls of this generation that count at `at`: ended before it, and
    /// fewer than 10 buckets have begun since their own.
    fn counts_at(&self, at: Duration) -> WindowCounts {
        let bucket = self.config.window_value() / 10;
        let index = |instant: Duration| instant.as_nanos() / bucket.as_nanos();
        let mut counts = WindowCounts::default();
        for &(ended, failed, generation) in &self.calls {
            if generation == self.generation && ended <= at && index(at) - index(ended) < 10 {
                if failed {
                    counts.failures += 1;
                } else {
                    counts.successes += 1;
                }
            }
        }
        counts
    }

    fn counts(&self) -> WindowCounts {
        self.counts_at(self.now)
    }

    /// `Err(retry_after)` when rejected.
    fn acquire(&mut self) -> Result<Ticket, Duration> {
        if self.state == State::Closed {
            return Ok(Ticket::Closed {
                generation: self.generation,
            });
        }
        // A rejection is decided without the lock, on the thread's tick
        // reading: exact inside a runtime, where this model runs. The
        // recent reading (successes') is not touched.
        let slots = self.config.half_open_calls_value();
        let until = match self.state {
            State::Open => Some((self.open_until, true)),
            State::HalfOpen if self.in_flight + self.succeeded >= slots => Some((
                self.last_probe_at + self.config.probe_timeout_value(),
                false,
            )),
            _ => None,
        };
        if let Some((until, wait)) = until
            && self.now < until
        {
            return Err(if wait {
                until - self.now
            } else {
                Duration::ZERO
            });
        }
        // Anything else is decided on the exact time.
        self.fresh();
        if self.state == State::Open {
            if self.now < self.open_until {
                return Err(self.open_until - self.now);
            }
            self.go(State::HalfOpen);
        }
        if self.in_flight + self.succeeded < self.config.half_open_calls_value() {
            self.in_flight += 1;
            self.last_probe_at = self.now;
            Ok(Ticket::Probe {
                episode: self.episode,
            })
        } else if self.in_flight > 0
            && self.now - self.last_probe_at >= self.config.probe_timeout_value()
        {
            // Probes that outlived `probe_timeout` count as failed.
            self.open(self.now);
            Err(self.config.open_for_value())
        } else {
            Err(Duration::ZERO)
        }
    }

    fn finish(&mut self, ticket: Ticket, end: End) {
        match ticket {
            Ticket::Closed { generation } => {
                if end == End::Drop {
                    return; // cancelled: neither success nor failure
                }
                let failed = end == End::Failure;
                // A success is dated by the recent reading, a failure exactly.
                let at = if failed {
                    self.fresh()
                } else {
                    self.recent().0
                };
                self.calls.push((at, failed, generation));
                // Every outcome is judged, at its date, a success as much as
                // a failure.
                if generation == self.generation && self.state == State::Closed {
                    let counts = self.counts_at(at);
                    let calls = counts.calls();
                    if calls >= u64::from(self.config.min_calls_value())
                        && counts.failures as f64 / calls as f64 > self.config.failure_rate_value()
                    {
                        self.open(at);
                    }
                }
            }
            Ticket::Probe { episode } => {
                if episode != self.episode {
                    return; // a probe of an episode that already ended
                }
                self.in_flight -= 1;
                match end {
                    End::Drop => {}
                    End::Failure => self.open(self.now),
                    End::Success => {
                        self.succeeded += 1;
                        if self.succeeded >= self.config.half_open_calls_value() {
                            self.generation += 1;
                            self.go(State::Closed);
                        }
                    }
                }
            }
        }
    }

    fn reset(&mut self) {
        self.generation += 1;
        self.go(State::Closed);
    }
}

fn end_call(permit: Permit<'_>, end: End) {
    match end {
        End::Success => permit.record(false),
        End::Failure => permit.record(true),
        End::Drop => drop(permit),
    }
}

/// Runs `ops` on a breaker and on the model; returns whether every date the
/// model gave was the exact time.
async fn run(scale: Scale, config: BreakerConfig, ops: Vec<Op>) -> Result<bool, TestCaseError> {
    let breaker = Breaker::new("model", config);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    breaker.on_state_change(move |change| log.lock().unwrap().push((change.from, change.to)));
    let mut model = Model::new(config);
    let mut held: Vec<(Permit<'_>, Ticket)> = Vec::new();

    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Call(_) | Op::Hold => {
                let real = breaker.try_acquire();
                let expected = model.acquire();
                match (real, expected, &op) {
                    (Ok(permit), Ok(ticket), Op::Call(end)) => {
                        end_call(permit, *end);
                        model.finish(ticket, *end);
                    }
                    (Ok(permit), Ok(ticket), _) => held.push((permit, ticket)),
                    (Err(open), Err(retry_after), _) => {
                        prop_assert_eq!(open.retry_after(), retry_after, "step {}: {:?}", step, op);
                    }
                    (real, expected, _) => prop_assert!(
                        false,
                        "step {}: {:?}: breaker {:?}, model {:?}",
                        step,
                        op,
                        real.map(|_| "permit"),
                        expected.map(|_| "permit")
                    ),
                }
            }
            Op::Finish(index, end) => {
                if !held.is_empty() {
                    let (permit, ticket) = held.swap_remove(index % held.len());
                    end_call(permit, end);
                    model.finish(ticket, end);
                }
            }
            Op::Advance(steps) => {
                let by = scale.step * steps;
                tokio::time::advance(by).await;
                model.now += by;
            }
            Op::Reset => {
                breaker.reset();
                model.reset();
            }
            Op::ForceOpen => {
                breaker.force_open();
                model.open(model.now);
            }
        }
        prop_assert_eq!(breaker.state(), model.state, "step {}", step);
        prop_assert_eq!(breaker.counts(), model.counts(), "step {}", step);
        prop_assert_eq!(
            &*heard.lock().unwrap(),
            &model.transitions[..],
            "step {}",
            step
        );
    }
    Ok(model.all_exact)
}

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_behaves_as_the_model(config in config(BUCKETS), ops in prop::collection::vec(op(), 1..120)) {
        let exact = paused_runtime().block_on(run(BUCKETS, config, ops))?;
        prop_assert!(exact, "time in whole buckets: every reading exact");
    }

    #[test]
    fn the_breaker_behaves_as_the_model_on_recent_readings(config in config(MICROS), ops in prop::collection::vec(op(), 1..200)) {
        paused_runtime().block_on(run(MICROS, config, ops))?;
    }
}
