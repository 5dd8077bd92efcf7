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
//! The model's window is the exact sliding window ("a call counts while it is
//! younger than `window`"); time moves in whole buckets (`window / 10`), where
//! the breaker's 10-bucket window and the exact one agree. Bucketing within a
//! bucket is covered by the unit tests of `window.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const WINDOW: Duration = Duration::from_secs(10);
const BUCKET: Duration = Duration::from_secs(1);

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
        5 => (0u32..14).prop_map(Op::Advance),
        1 => Just(Op::Reset),
        1 => Just(Op::ForceOpen),
    ]
}

fn config() -> impl Strategy<Value = BreakerConfig> {
    (
        prop_oneof![Just(0.0), Just(0.25), Just(0.5), Just(0.75), Just(1.0)],
        1u32..8,
        1u64..40,
        1u32..4,
        prop::option::of(1u64..40),
    )
        .prop_map(
            |(rate, min_calls, open_for_half_seconds, half_open_calls, probe_timeout)| {
                let config = BreakerConfig::new()
                    .failure_rate(rate)
                    .min_calls(min_calls)
                    .window(WINDOW)
                    .open_for(Duration::from_millis(500 * open_for_half_seconds))
                    .half_open_calls(half_open_calls);
                match probe_timeout {
                    Some(half_seconds) => {
                        config.probe_timeout(Duration::from_millis(500 * half_seconds))
                    }
                    None => config,
                }
            },
        )
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
    state: State,
    /// Bumped whenever the window is emptied (closing, reset).
    generation: u64,
    /// Bumped by every transition; probes of older episodes are ignored.
    episode: u64,
    open_until: Duration,
    in_flight: u32,
    succeeded: u32,
    /// When the last probe of this half-open episode was let through.
    last_probe_at: Duration,
    /// Every call ended while its permit was a closed one: when, whether it
    /// failed, and the generation it was acquired in.
    calls: Vec<(Duration, bool, u64)>,
    transitions: Vec<(State, State)>,
}

impl Model {
    fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            now: Duration::ZERO,
            state: State::Closed,
            generation: 0,
            episode: 0,
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

    fn open(&mut self) {
        self.open_until = self.now + self.config.open_for_value();
        self.go(State::Open);
    }

    fn counts(&self) -> WindowCounts {
        let mut counts = WindowCounts::default();
        for &(at, failed, generation) in &self.calls {
            if generation == self.generation && self.now - at < WINDOW {
                if failed {
                    counts.failures += 1;
                } else {
                    counts.successes += 1;
                }
            }
        }
        counts
    }

    /// `Err(retry_after)` when rejected.
    fn acquire(&mut self) -> Result<Ticket, Duration> {
        if self.state == State::Closed {
            return Ok(Ticket::Closed {
                generation: self.generation,
            });
        }
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
            self.open();
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
                self.calls.push((self.now, failed, generation));
                // Every outcome is judged, a success as much as a failure.
                if generation == self.generation && self.state == State::Closed {
                    let counts = self.counts();
                    let calls = counts.calls();
                    if calls >= u64::from(self.config.min_calls_value())
                        && counts.failures as f64 / calls as f64 > self.config.failure_rate_value()
                    {
                        self.open();
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
                    End::Failure => self.open(),
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

async fn run(config: BreakerConfig, ops: Vec<Op>) -> Result<(), TestCaseError> {
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
            Op::Advance(buckets) => {
                let by = BUCKET * buckets;
                tokio::time::advance(by).await;
                model.now += by;
            }
            Op::Reset => {
                breaker.reset();
                model.reset();
            }
            Op::ForceOpen => {
                breaker.force_open();
                model.open();
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
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_behaves_as_the_model(config in config(), ops in prop::collection::vec(op(), 1..120)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(run(config, ops))?;
    }
}
