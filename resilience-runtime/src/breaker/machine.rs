//! [`Breaker`]: the state machine ([`Permit`], its leave for one call, is in `permit.rs`).
//!
//! # Layout of the state
//!
//! The state a call needs is one `AtomicU64`, `word`: the state in its two
//! low bits, the window *generation* above them. The closed path reads it
//! once, and recording a call writes one bucket of the calling thread's shard
//! of the [`Window`]; neither takes a lock, allocates or formats.
//!
//! A success judges the window only when it could trip it: the last
//! judgement is kept in `verdict` (the epoch it was made in, and whether the
//! failure share was at or below the threshold then). Within one epoch the
//! window only grows, and a success only lowers the share, so after a "below"
//! verdict the successes of that epoch need not look; the first outcome of a
//! new epoch (when old calls may have aged out) does. A failure always
//! judges. So the rule is resilience4j's — judged on every outcome once
//! `min_calls` is reached — at the cost of one shared read per success.
//!
//! # Time
//!
//! A success is dated by the calling thread's recent reading of the clock
//! ([`clock::recent_since`]; it lags the exact clock by at most ~100 µs while the
//! thread's calls keep coming, and by at most 63 calls of that thread after
//! a pause); a failure and every call that may change the state read it
//! exactly. A rejection is decided on the thread's tick reading
//! ([`clock::within_tick_since`]): less than one coarse tick (4 ms on Linux at 250 Hz) old,
//! never from before the breaker opened, exact inside a tokio runtime; a
//! recent reading would not do, as one from before a pause would keep
//! rejecting past `open_for`. The healthy path reads no clock most of the
//! time, nor does a rejection.
//!
//! # The lock
//!
//! Everything else — transitions, the half-open probe bookkeeping, the queue
//! of transitions to tell — lives behind one `Mutex` per breaker, taken only
//! off the closed path: when a failure opens the breaker, when a call arrives
//! after `open_for`, by probes, and by `reset` / `force_open`. A rejected
//! call never takes it, open or half-open: the probe slots are mirrored in
//! atomics for it. No user code
//! ever runs under it, and a poisoned lock is taken over as it is
//! (`PoisonError::into_inner`): every update under it is complete before
//! anything that could panic.
//!
//! Transitions are told (tracing event, listeners) after the lock is released,
//! by whichever thread finds no one else telling them, in the order they
//! happened; so a listener may call back into the breaker.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{
    AtomicBool, AtomicU64,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
    fence,
};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::events::{self, CallOutcome, Cause, Listeners, Transition};
use super::meters::BreakerMeters;
use super::tally::CallTally;
use super::window::{Epoch, Window};
use super::{BreakerConfig, CircuitOpen, OpenPeriod, Origin, State, StateChange, WindowCounts};
use crate::clock::{self, Instant};

/// Sharing the breaker's state over the fleet (feature `redis`).
mod permit;
#[cfg(feature = "redis")]
mod shared;

pub use permit::Permit;
use permit::Ticket;

const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;
const STATE_BITS: u64 = 0b11;

/// A `verdict` no epoch's "below the rate" equals: the next success judges.
const MUST_JUDGE: u64 = u64::MAX;

/// The verdict "the failure share was at or below the rate in `epoch`".
#[inline]
fn below(epoch: Epoch) -> u64 {
    u64::from(epoch.tag())
}

const fn word(generation: u64, state: u64) -> u64 {
    (generation << 2) | state
}

const fn generation_of(word: u64) -> u64 {
    word >> 2
}

const fn state_of(word: u64) -> State {
    match word & STATE_BITS {
        CLOSED => State::Closed,
        OPEN => State::Open,
        _ => State::HalfOpen,
    }
}

/// A named circuit breaker.
///
/// Breakers that `#[breaker]` uses live in the process-wide
/// [`registry`](super::registry()), one per name; [`Breaker::new`] makes one
/// of your own. Either way a call goes through it in two steps:
/// [`try_acquire`](Self::try_acquire) before the call, and
/// [`Permit::record`] with the outcome after it.
///
/// - **Closed**: every call goes through. Each outcome, success or failure,
///   is judged: when at least `min_calls` calls ended in the window and the
///   failure share exceeds `failure_rate`, it opens. (Two outcomes recorded
///   at the same moment on two threads may each miss the other's count;
///   then the trip is decided by the next outcome at the latest.)
/// - **Open**: every call is rejected with [`CircuitOpen`] for `open_for`.
///   The first call after that turns it half-open (there is no timer: a
///   breaker nobody calls stays [`State::Open`] in [`state`](Self::state)).
/// - **Half-open**: `half_open_calls` probe calls go through at once, the
///   rest are rejected. When that many probes have succeeded it closes with
///   an empty window; the first probe that fails opens it again for
///   `open_for`. Probes that have not ended within `probe_timeout` (default
///   `open_for`) count as failed, so a hung probe cannot hold it half-open.
///
/// **Time.** Reading the clock costs more than the rest of the closed path,
/// so a success is dated by the calling thread's *recent* reading: an exact
/// reading reused by the thread's next calls while they come fast (up to 64
/// calls share one, and a reading is reused only after the last ones
/// spanned at most 100 µs). So it lags the exact time by at most about
/// 100 µs while the thread's calls keep their pace; a thread that calls
/// less often than every 100 µs reads afresh on every call; after a pause in
/// a fast thread's calls, at most its next 63 successes are dated at the
/// reading before the pause. A failure, a rejection and every decision
/// taken under the lock (half-opening, probes, probe timeouts) read the
/// clock exactly. A paused tokio runtime that moves time by more than
/// 100 µs at once, or not at all, is followed exactly. Each outcome is
/// judged at its date: the decision the exact window would take at that
/// instant.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
///
/// let breaker = Breaker::new("geo", BreakerConfig::new().min_calls(4));
/// for failed in [false, true, true, true] {
///     let permit = breaker.try_acquire().expect("closed");
///     permit.record(failed);
/// }
/// // 3 failures out of 4 calls: more than half.
/// assert_eq!(breaker.state(), State::Open);
/// let open = breaker.try_acquire().unwrap_err();
/// assert_eq!(open.name(), "geo");
/// assert!(open.retry_after() <= Duration::from_secs(60));
/// ```
pub struct Breaker {
    /// Generation and state; see the module docs.
    word: AtomicU64,
    /// While open: when probing may begin, in nanoseconds since `origin`.
    open_until: AtomicU64,
    /// While half-open: probe slots taken (`in_flight + succeeded` of the
    /// machine) and when the last probe was let through, published for the
    /// rejections that take no lock.
    probes_taken: AtomicU64,
    last_probe_nanos: AtomicU64,
    name: &'static str,
    config: BreakerConfig,
    origin: Instant,
    open_for_nanos: u64,
    probe_timeout_nanos: u64,
    window: Window,
    /// The last judgement of the window; see the module docs.
    verdict: AtomicU64,
    /// Whether the registry's listeners hear of this breaker.
    registered: bool,
    /// The key of a keyed breaker, as `Debug` prints it; see `KeyedBreakers`.
    key: Option<Box<str>>,
    machine: Mutex<Machine>,
    /// Some thread is telling queued transitions.
    telling: AtomicBool,
    listeners: Listeners,
    /// Its metric handles, registered when it is built.
    meters: BreakerMeters,
    /// Whether the current state came from the fleet.
    from_fleet: AtomicBool,
    /// The `throttle` rule's rejection probability (`f64` bits); 0 while
    /// nothing is throttled, so the closed path's test is one load.
    shed: AtomicU64,
    /// The `consecutive` rule's count: failures in a row while closed (low
    /// 32 bits), tagged with the closed generation they count in (high 32
    /// bits), so that a new closed period starts from none.
    streak: AtomicU64,
    /// A keyed breaker's recency: how many keys its map had added when it
    /// was last used (see `KeyedBreakers`).
    used: AtomicU64,
    /// The fleet its state is shared over, once [`Breaker::share_on`].
    #[cfg(feature = "redis")]
    fleet: std::sync::OnceLock<shared::Sharing>,
}

/// What changes only off the closed path.
struct Machine {
    /// Bumped by every transition; a probe permit of an earlier episode is
    /// ignored when it ends.
    episode: u64,
    /// Probe permits out in this half-open episode.
    in_flight: u64,
    /// Probes that succeeded in this half-open episode.
    succeeded: u64,
    /// When the last probe of this episode was let through.
    last_probe_at: u64,
    /// Transitions not yet told, oldest first.
    pending: VecDeque<Transition>,
}

/// How a half-open probe ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeEnd {
    Succeeded,
    Failed,
    Abandoned,
}

impl Breaker {
    /// A breaker of your own, outside the registry: its name is only a label
    /// (for events, metrics and [`CircuitOpen`]), and the registry's
    /// listeners do not hear of it. `#[breaker]` uses
    /// [`registry`](super::registry()) instead.
    ///
    /// Its metrics are labelled `breaker = name` like a registered breaker's,
    /// so give it a name no registered breaker has, or the two share one
    /// `breakers_state` series.
    ///
    /// ```
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    ///
    /// let breaker = Breaker::new("local-cache-fill", BreakerConfig::new());
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        let mut breaker = Self::build(
            name,
            config,
            None,
            Window::new(config.window_value()),
            BreakerMeters::register(name),
        );
        breaker.registered = false;
        breaker
    }

    pub(super) fn registered(name: &'static str, config: BreakerConfig) -> Self {
        let window = Window::new(config.window_value());
        Self::build(name, config, None, window, BreakerMeters::register(name))
    }

    /// The breaker of one key of a keyed name: it counts its calls into the
    /// name's tally (`calls`) but keeps its state out of the name's gauge.
    pub(super) fn keyed(
        name: &'static str,
        config: BreakerConfig,
        key: Box<str>,
        calls: CallTally,
    ) -> Self {
        // A key sees a fraction of the traffic: one window, shared by the
        // threads calling it, where a name's breaker has one per thread.
        let window = Window::compact(config.window_value());
        Self::build(name, config, Some(key), window, BreakerMeters::keyed(calls))
    }

    /// A registered breaker (see [`Breaker::new`] for one that is not).
    fn build(
        name: &'static str,
        config: BreakerConfig,
        key: Option<Box<str>>,
        window: Window,
        meters: BreakerMeters,
    ) -> Self {
        Self {
            word: AtomicU64::new(word(0, CLOSED)),
            open_until: AtomicU64::new(0),
            probes_taken: AtomicU64::new(0),
            last_probe_nanos: AtomicU64::new(0),
            name,
            config,
            // Also starts this thread's recent reading over: a breaker made
            // on a new runtime's clock never dates a call by an older one.
            origin: clock::fresh(),
            open_for_nanos: nanos(config.open_for_value()),
            probe_timeout_nanos: nanos(config.probe_timeout_value()),
            window,
            verdict: AtomicU64::new(MUST_JUDGE),
            registered: true,
            key,
            machine: Mutex::new(Machine {
                episode: 0,
                in_flight: 0,
                succeeded: 0,
                last_probe_at: 0,
                pending: VecDeque::new(),
            }),
            telling: AtomicBool::new(false),
            listeners: Listeners::new(),
            meters,
            from_fleet: AtomicBool::new(false),
            shed: AtomicU64::new(0),
            streak: AtomicU64::new(0),
            used: AtomicU64::new(0),
            #[cfg(feature = "redis")]
            fleet: std::sync::OnceLock::new(),
        }
    }

    pub(super) fn meters(&self) -> &BreakerMeters {
        &self.meters
    }

    /// Notes that this keyed breaker was used when its map had added
    /// `added` keys; written only when that changes (once per key added to
    /// the map at most), so the look-up's shared write is rare.
    #[inline]
    pub(super) fn note_use(&self, added: u64) {
        if self.used.load(Relaxed) != added {
            self.used.fetch_max(added, Relaxed);
        }
    }

    /// How many keys its map had added when this keyed breaker was last used.
    pub(super) fn last_used(&self) -> u64 {
        self.used.load(Relaxed)
    }

    /// The breaker's name.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig};
    /// assert_eq!(Breaker::new("geo", BreakerConfig::new()).name(), "geo");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The key of a keyed breaker (`#[breaker(name = .., key = ..)]`), as
    /// `Debug` prints it (a string key in quotes); `None` for a breaker of a
    /// name alone.
    ///
    /// ```
    /// use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    ///
    /// let hosts = KeyedBreakers::new("hosts", BreakerConfig::new());
    /// assert_eq!(hosts.breaker("a.example".to_owned()).key(), Some("\"a.example\""));
    /// ```
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The state now. An open breaker whose `open_for` has passed still
    /// reads [`State::Open`] until a call turns it half-open.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    pub fn state(&self) -> State {
        state_of(self.word.load(Acquire))
    }

    /// Where the current state came from: this process, or another instance
    /// of the fleet (a breaker with `shared = true`, feature `redis`).
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// breaker.force_open();
    /// assert_eq!(breaker.origin(), Origin::Local);
    /// ```
    pub fn origin(&self) -> Origin {
        if self.from_fleet.load(Relaxed) {
            Origin::Fleet
        } else {
            Origin::Local
        }
    }

    /// While open: how long it has been open, and how long until probing
    /// may begin (zero once `open_for` has passed and no call has turned it
    /// half-open yet). `None` while closed or half-open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig};
    ///
    /// let breaker = Breaker::new("geo", BreakerConfig::new().open_for(Duration::from_secs(30)));
    /// assert!(breaker.open_period().is_none());
    /// breaker.force_open();
    /// let period = breaker.open_period().unwrap();
    /// assert!(period.next_probe_in <= Duration::from_secs(30));
    /// assert_eq!(period.open_so_far + period.next_probe_in, Duration::from_secs(30));
    /// ```
    pub fn open_period(&self) -> Option<OpenPeriod> {
        if self.word.load(Acquire) & STATE_BITS != OPEN {
            return None;
        }
        let until = self.open_until.load(Acquire);
        let since = until.saturating_sub(self.open_for_nanos);
        let now = self.elapsed(clock::now()).max(since);
        Some(OpenPeriod {
            open_so_far: Duration::from_nanos(now - since),
            next_probe_in: Duration::from_nanos(until.saturating_sub(now)),
        })
    }

    /// The configuration the breaker runs with.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig};
    /// let breaker = Breaker::new("geo", BreakerConfig::new().min_calls(3));
    /// assert_eq!(breaker.config().min_calls_value(), 3);
    /// ```
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// Outcomes of the calls made while closed that are still in the window.
    /// While open or half-open, these are the calls that opened it, ageing
    /// out; closing the breaker empties the window.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, WindowCounts};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// breaker.try_acquire().unwrap().record(true);
    /// assert_eq!(breaker.counts(), WindowCounts { successes: 0, failures: 1 });
    /// ```
    pub fn counts(&self) -> WindowCounts {
        let now = self.elapsed(clock::now());
        let generation = generation_of(self.word.load(Acquire));
        self.window.counts(self.window.epoch(now, generation))
    }

    /// Closes the breaker and empties its window, whatever its state.
    /// Probes still running are forgotten: their outcomes no longer count.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// breaker.force_open();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), State::Closed);
    /// assert!(breaker.try_acquire().is_ok());
    /// ```
    pub fn reset(&self) {
        let mut machine = self.lock();
        let current = self.word.load(Relaxed);
        let next = word(generation_of(current).wrapping_add(1), CLOSED);
        let told = self.set_locked(&mut machine, current, next, Cause::Reset, None);
        drop(machine);
        if told {
            self.tell();
        }
    }

    /// Opens the breaker now, for `open_for` from now, whatever its state
    /// (an open breaker starts its `open_for` over).
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// breaker.force_open();
    /// assert_eq!(breaker.state(), State::Open);
    /// assert!(breaker.try_acquire().is_err());
    /// ```
    pub fn force_open(&self) {
        let now = self.elapsed(clock::now());
        let mut machine = self.lock();
        let told = self.open_locked(&mut machine, now, Cause::Forced, None);
        drop(machine);
        if told {
            self.tell();
        }
    }

    /// Calls `listener` on every state change of this breaker, after the
    /// change, in the order changes happen. A listener may call back into the
    /// breaker; one that panics is reported by an error event and does not
    /// harm the breaker. Listeners of every registered breaker at once:
    /// [`Registry::on_state_change`](super::Registry::on_state_change).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig, State};
    ///
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// let openings = Arc::new(AtomicUsize::new(0));
    /// let count = Arc::clone(&openings);
    /// breaker.on_state_change(move |change| {
    ///     if change.to == State::Open {
    ///         count.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// });
    /// breaker.force_open();
    /// assert_eq!(openings.load(Ordering::Relaxed), 1);
    /// ```
    pub fn on_state_change(&self, listener: impl Fn(&StateChange) + Send + Sync + 'static) {
        self.listeners.add(listener);
    }

    /// Asks to make one call: a [`Permit`] to record its outcome with, or the
    /// [`CircuitOpen`] error to return instead of calling.
    ///
    /// While closed this reads one atomic and returns; while open it reads
    /// the clock to see whether `open_for` has passed; while half-open it
    /// hands out at most `half_open_calls` probe permits at once.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// match breaker.try_acquire() {
    ///     Ok(permit) => {
    ///         let outcome: Result<u32, String> = Ok(7); // the call
    ///         permit.record(outcome.is_err());
    ///     }
    ///     Err(open) => panic!("{open}"),
    /// }
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, CircuitOpen> {
        let current = self.word.load(Acquire);
        if current & STATE_BITS == CLOSED {
            if self.shed.load(Relaxed) != 0 {
                self.maybe_throttle(generation_of(current))?;
            }
            return Ok(Permit {
                breaker: self,
                ticket: Ticket::Closed {
                    generation: generation_of(current),
                },
            });
        }
        self.acquire_not_closed(current)
    }

    /// [`try_acquire`](Self::try_acquire) for an async caller: the same
    /// answer, but a breaker shared over the fleet (feature `redis`) that
    /// would probe takes the fleet's probe lease awaiting Redis rather than
    /// blocking the thread (an async runtime's worker) on it. While closed
    /// it asks Redis nothing, as `try_acquire` does; `#[breaker(shared =
    /// true)]` on an `async fn` acquires through it.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig};
    /// # async fn run() {
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// let permit = breaker.acquire().await.expect("closed");
    /// let outcome: Result<u32, String> = Ok(7); // the call
    /// permit.record(outcome.is_err());
    /// # }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(run());
    /// ```
    pub async fn acquire(&self) -> Result<Permit<'_>, CircuitOpen> {
        #[cfg(feature = "redis")]
        self.lease_before_acquire().await?;
        self.try_acquire()
    }

    /// Every call while open or half-open (`current`, the state word). A
    /// rejection takes no lock; a call that may go through decides under
    /// the lock, on an exact reading.
    ///
    /// Out of line, so that the closed path inlined at every call site stays
    /// small; not `#[cold]`: rejections are an open breaker's hot path.
    #[inline(never)]
    fn acquire_not_closed(&self, current: u64) -> Result<Permit<'_>, CircuitOpen> {
        match self.reject_without_lock(current) {
            Some(open) => Err(open),
            None => self.acquire_locked(),
        }
    }

    /// A rejection, if the state word `current` says so without the lock:
    /// open within `open_for`, or half-open with every probe slot taken and
    /// the last probe within `probe_timeout`.
    ///
    /// Decided on the thread's tick reading ([`clock::within_tick_since`]): less
    /// than one coarse tick old, never from before the period began (so a
    /// reading from before a pause, or from before the breaker opened,
    /// never decides), exact inside a tokio runtime. A rejection so comes at
    /// most one tick past the period's end; the call after it reads exactly
    /// and goes on under the lock. A fresh reading also hands the thread's
    /// rejections over to the metrics: at least once per tick.
    #[inline]
    fn reject_without_lock(&self, current: u64) -> Option<CircuitOpen> {
        let (since, until, wait) = match current & STATE_BITS {
            OPEN => {
                let until = self.open_until.load(Acquire);
                (until.saturating_sub(self.open_for_nanos), until, true)
            }
            HALF_OPEN => {
                let taken = self.probes_taken.load(Acquire);
                if taken < u64::from(self.config.half_open_calls_value()) {
                    return None; // a slot is free: a probe, under the lock
                }
                let last = self.last_probe_nanos.load(Acquire);
                (last, last.saturating_add(self.probe_timeout_nanos), false)
            }
            _ => return None,
        };
        let reading = clock::within_tick_since(self.origin, since);
        let now = reading.nanos;
        (now < until).then(|| self.reject(if wait { until - now } else { 0 }, reading.fresh))
    }

    #[cold]
    #[inline(never)]
    fn acquire_locked(&self) -> Result<Permit<'_>, CircuitOpen> {
        let now = self.elapsed(clock::fresh());
        // Shared: one probe at a time across the fleet.
        #[cfg(feature = "redis")]
        self.fleet_probe(now)?;
        let mut machine = self.lock();
        let current = self.word.load(Relaxed);
        let mut told = false;
        match current & STATE_BITS {
            // Reset in the meantime.
            CLOSED => {
                return Ok(Permit {
                    breaker: self,
                    ticket: Ticket::Closed {
                        generation: generation_of(current),
                    },
                });
            }
            OPEN => {
                let until = self.open_until.load(Relaxed);
                if now < until {
                    drop(machine);
                    return Err(self.reject(until - now, true));
                }
                let next = word(generation_of(current), HALF_OPEN);
                told = self.set_locked(&mut machine, current, next, Cause::OpenForElapsed, None);
            }
            _ => {}
        }
        let admitted =
            machine.in_flight + machine.succeeded < u64::from(self.config.half_open_calls_value());
        let mut wait = 0;
        if admitted {
            machine.in_flight += 1;
            machine.last_probe_at = now;
            self.publish_probes(&machine);
        } else if machine.in_flight > 0
            && now.saturating_sub(machine.last_probe_at) >= self.probe_timeout_nanos
        {
            // The probes out have had their time: count them as failed.
            told |= self.open_locked(&mut machine, now, Cause::ProbeTimedOut, None);
            wait = self.open_for_nanos;
        }
        let episode = machine.episode;
        // The fleet's lease is the instance's, not the call's: while a local
        // probe runs it holds it, and a call refused a slot must not give
        // it back (another instance would probe at the same time).
        #[cfg(feature = "redis")]
        let lease_unused = !admitted && machine.in_flight == 0;
        drop(machine);
        #[cfg(feature = "redis")]
        if lease_unused {
            self.fleet_probe_unused();
        }
        if told {
            self.tell();
        }
        if admitted {
            Ok(Permit {
                breaker: self,
                ticket: Ticket::Probe { episode },
            })
        } else {
            Err(self.reject(wait, true))
        }
    }

    /// A rejection; `hand_over`: whether to count it in the metrics at once
    /// (see `events::call_outcome`).
    #[inline]
    fn reject(&self, wait_nanos: u64, hand_over: bool) -> CircuitOpen {
        events::call_outcome(self, CallOutcome::Rejected, hand_over);
        let open = CircuitOpen::from_nanos(self.name, wait_nanos);
        crate::recovery::breaker_rejected(open.retry_after());
        open
    }

    /// The outcome of a call made while closed.
    ///
    /// A success is dated, and judged, at the thread's recent reading
    /// ([`clock::recent_since`]): the decision the exact window would take at an
    /// instant within that reading's documented bound. A failure reads the
    /// clock exactly (and starts the thread's recent reading over).
    #[inline]
    fn record_closed(&self, generation: u64, failed: bool) {
        let (now, outcome, hand_over) = if failed {
            (self.elapsed(clock::fresh()), CallOutcome::Failure, true)
        } else {
            // Handed over to the metrics at once unless the thread calls
            // at full speed, whose successes are batched. Asked only on a
            // fresh reading: at most once in 64 calls at full speed.
            let recent = clock::recent_since(self.origin);
            let hand_over = recent.fresh && !clock::at_full_speed();
            (recent.nanos, CallOutcome::Success, hand_over)
        };
        let epoch = self.window.record(now, generation, failed);
        events::call_outcome(self, outcome, hand_over);
        if let Some(limit) = self.config.consecutive_value() {
            self.count_in_a_row(generation, failed, now, limit);
            return;
        }
        if let Some(k) = self.config.throttle_value() {
            // Healthy and not throttling: nothing to weigh.
            if failed || self.shed.load(Relaxed) != 0 {
                self.weigh_throttle(k, epoch);
            }
            return;
        }
        // A success needs no judgement after a "below" verdict of its epoch.
        // Relaxed: a stale verdict only delays a trip to the next outcome.
        if failed || self.verdict.load(Relaxed) != below(epoch) {
            self.judge(generation, now, epoch);
        }
    }

    /// After an outcome that could trip it: opens the breaker when the
    /// window says so, else notes the verdict for the successes to come.
    #[cold]
    #[inline(never)]
    fn judge(&self, generation: u64, now: u64, epoch: Epoch) {
        // Our count was bumped with a relaxed write and the sum below reads
        // other shards with relaxed loads: without a full fence in between,
        // two threads recording failures together may each read the other's
        // shard before the other's bump lands (a store-buffer reordering,
        // allowed on every CPU) and neither trips. With it, at least one sees
        // both. The healthy success path does not come here.
        fence(SeqCst);
        let closed = word(generation, CLOSED);
        // A call that began before the breaker opened or was reset no longer
        // decides anything.
        if self.word.load(Acquire) != closed {
            return;
        }
        let counts = self.window.counts(epoch);
        let Some(rate) = self.config.above_rate(counts.calls(), counts.failures) else {
            self.note_verdict(below(epoch));
            return;
        };
        if counts.calls() < u64::from(self.config.min_calls_value()) {
            // Above the rate but too few calls: every outcome must look.
            self.note_verdict(MUST_JUDGE);
            return;
        }
        let mut machine = self.lock();
        if self.word.load(Relaxed) != closed {
            return; // another failure opened it first
        }
        let told = self.open_locked(&mut machine, now, Cause::FailureRate, Some(rate));
        drop(machine);
        if told {
            self.tell();
        }
    }

    /// The rejection probability of a call while throttling: one uniform
    /// draw against it; a rejected call counts in the window as a request
    /// not accepted.
    #[cold]
    #[inline(never)]
    fn maybe_throttle(&self, generation: u64) -> Result<(), CircuitOpen> {
        let probability = f64::from_bits(self.shed.load(Relaxed));
        if fastrand::f64() >= probability {
            return Ok(());
        }
        let now = self.elapsed(clock::fresh());
        let epoch = self.window.record(now, generation, true);
        if let Some(k) = self.config.throttle_value() {
            self.weigh_throttle(k, epoch);
        }
        Err(self.reject(0, true))
    }

    /// Client-side throttling's probability from the window: max(0,
    /// (requests − k × accepts) / (requests + 1)).
    fn weigh_throttle(&self, k: f64, epoch: Epoch) {
        let counts = self.window.counts(epoch);
        let requests = counts.calls() as f64;
        let accepts = counts.successes as f64;
        let probability = ((requests - k * accepts) / (requests + 1.0)).max(0.0);
        let bits = if probability > 0.0 {
            probability.to_bits()
        } else {
            0
        };
        if self.shed.load(Relaxed) != bits {
            self.shed.store(bits, Relaxed);
        }
    }

    /// The share of calls the `throttle` rule rejects now (0 without it,
    /// or while the dependency is healthy).
    ///
    /// ```
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig};
    ///
    /// let breaker = Breaker::new("search", BreakerConfig::new().throttle(2.0));
    /// let calls: Vec<_> = (0..4).map(|_| breaker.try_acquire().unwrap()).collect();
    /// let mut outcomes = calls.into_iter().zip([false, true, true, true]);
    /// let (permit, failed) = outcomes.next().unwrap();
    /// permit.record(failed);
    /// assert_eq!(breaker.throttle_probability(), 0.0);
    /// outcomes.for_each(|(permit, failed)| permit.record(failed));
    /// // 4 requests, 1 accepted: (4 - 2 × 1) / (4 + 1)
    /// assert_eq!(breaker.throttle_probability(), 0.4);
    /// ```
    pub fn throttle_probability(&self) -> f64 {
        f64::from_bits(self.shed.load(Relaxed))
    }

    /// The `consecutive` rule: a success starts the count over (written
    /// only when it changes, so the healthy path's shared read stays a
    /// cache hit); a failure counts, and opens the breaker at `limit`.
    #[inline]
    fn count_in_a_row(&self, generation: u64, failed: bool, now: u64, limit: u32) {
        const COUNT: u64 = 0xffff_ffff;
        let tag = (generation & COUNT) << 32;
        let seen = self.streak.load(Relaxed);
        if !failed {
            if seen != tag {
                self.streak.store(tag, Relaxed);
            }
            return;
        }
        let mut seen = seen;
        let in_a_row = loop {
            let next = if seen & !COUNT == tag {
                seen.saturating_add(1)
            } else {
                tag | 1
            };
            match self
                .streak
                .compare_exchange_weak(seen, next, Relaxed, Relaxed)
            {
                Ok(_) => break next & COUNT,
                Err(now) => seen = now,
            }
        };
        if in_a_row >= u64::from(limit) {
            self.open_in_a_row(generation, now);
        }
    }

    /// Opens the breaker on `consecutive` failures in a row, unless the
    /// closed period they counted in is over.
    #[cold]
    #[inline(never)]
    fn open_in_a_row(&self, generation: u64, now: u64) {
        let mut machine = self.lock();
        if self.word.load(Relaxed) != word(generation, CLOSED) {
            return; // opened, or reset, meanwhile
        }
        let told = self.open_locked(&mut machine, now, Cause::ConsecutiveFailures, None);
        drop(machine);
        if told {
            self.tell();
        }
    }

    /// Keeps `verdict` for the successes to come; written only when it
    /// changes, so their shared read stays a cache hit.
    fn note_verdict(&self, verdict: u64) {
        if self.verdict.load(Relaxed) != verdict {
            self.verdict.store(verdict, Relaxed);
        }
    }

    /// The end of a half-open probe.
    fn finish_probe(&self, episode: u64, end: ProbeEnd) {
        // Only a failure needs the time: it starts `open_for`.
        let now = match end {
            ProbeEnd::Failed => self.elapsed(clock::now()),
            ProbeEnd::Succeeded | ProbeEnd::Abandoned => 0,
        };
        let mut machine = self.lock();
        if machine.episode != episode {
            return; // the breaker moved on while the probe ran
        }
        // Saturating: this runs in `Drop`, maybe while unwinding, where a panic aborts.
        machine.in_flight = machine.in_flight.saturating_sub(1);
        let told = match end {
            ProbeEnd::Abandoned => {
                self.publish_probes(&machine);
                false
            }
            ProbeEnd::Failed => self.open_locked(&mut machine, now, Cause::ProbeFailed, None),
            ProbeEnd::Succeeded => {
                machine.succeeded += 1;
                if machine.succeeded < u64::from(self.config.half_open_calls_value()) {
                    self.publish_probes(&machine);
                    false
                } else {
                    let current = self.word.load(Relaxed);
                    let next = word(generation_of(current).wrapping_add(1), CLOSED);
                    self.set_locked(&mut machine, current, next, Cause::ProbesSucceeded, None)
                }
            }
        };
        #[cfg(feature = "redis")]
        let last_out = machine.in_flight == 0;
        drop(machine);
        match end {
            #[cfg(feature = "redis")]
            ProbeEnd::Abandoned if last_out => self.fleet_probe_unused(),
            ProbeEnd::Abandoned => {}
            ProbeEnd::Failed => events::call_outcome(self, CallOutcome::Failure, true),
            ProbeEnd::Succeeded => events::call_outcome(self, CallOutcome::Success, true),
        }
        if told {
            self.tell();
        }
    }

    /// Opens the breaker for `open_for` from `now`. Returns whether a
    /// transition was queued.
    fn open_locked(
        &self,
        machine: &mut Machine,
        now: u64,
        cause: Cause,
        failure_rate: Option<f64>,
    ) -> bool {
        let current = self.word.load(Relaxed);
        self.open_until
            .store(now.saturating_add(self.open_for_nanos), Relaxed);
        let next = word(generation_of(current), OPEN);
        self.set_locked(machine, current, next, cause, failure_rate)
    }

    /// Publishes `next`, starts a new episode, and queues the transition when
    /// the state changed. Returns whether it did. Holds the lock: `machine`.
    fn set_locked(
        &self,
        machine: &mut Machine,
        current: u64,
        next: u64,
        cause: Cause,
        failure_rate: Option<f64>,
    ) -> bool {
        machine.episode = machine.episode.wrapping_add(1);
        machine.in_flight = 0;
        machine.succeeded = 0;
        // Before the state: a rejection that sees the new state sees the
        // new episode's empty slots.
        self.publish_probes(machine);
        self.word.store(next, Release);
        let (from, to) = (state_of(current), state_of(next));
        if to == State::Closed {
            // A new window: nothing to throttle on.
            self.shed.store(0, Relaxed);
        }
        if from == to {
            return false;
        }
        let origin = cause.origin();
        self.from_fleet.store(origin == Origin::Fleet, Relaxed);
        let change = StateChange {
            name: self.name,
            from,
            to,
            origin,
        };
        machine.pending.push_back(Transition {
            change,
            cause,
            failure_rate,
        });
        true
    }

    /// Tells queued transitions, oldest first, unless another thread is
    /// already at it (it will tell ours too).
    fn tell(&self) {
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, Release);
            }
        }
        loop {
            if self.telling.swap(true, Acquire) {
                return;
            }
            let done = Done(&self.telling);
            loop {
                // A statement of its own: the lock is released before telling.
                let next = self.lock().pending.pop_front();
                let Some(transition) = next else { break };
                events::transition(self, &transition);
                #[cfg(feature = "redis")]
                self.publish(&transition);
                self.listeners.notify(&transition.change);
                if self.registered {
                    super::registry().listeners.notify(&transition.change);
                }
            }
            drop(done);
            // A transition queued after our last look, by a thread that saw
            // us telling, is ours to tell.
            if self.lock().pending.is_empty() {
                return;
            }
        }
    }

    /// Mirrors the machine's probe slots for [`reject_without_lock`](Self::reject_without_lock).
    /// Holds the lock: `machine`.
    fn publish_probes(&self, machine: &Machine) {
        self.probes_taken
            .store(machine.in_flight + machine.succeeded, Release);
        self.last_probe_nanos.store(machine.last_probe_at, Release);
    }

    /// The lock of the state machine, held by tests to show which paths
    /// never take it.
    #[cfg(test)]
    pub(super) fn hold_lock(&self) -> MutexGuard<'_, impl Sized> {
        self.lock()
    }

    /// What [`try_acquire`](Self::try_acquire) does for a call that found
    /// a probe slot free without the lock when another call took the last
    /// one before it got the lock: a race no public call can time.
    #[cfg(all(test, feature = "redis"))]
    pub(crate) fn acquire_after_the_last_slot_went(&self) -> Result<Permit<'_>, CircuitOpen> {
        self.acquire_locked()
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.machine.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Nanoseconds from the breaker's creation to `now`; 0 for an earlier
    /// instant (another paused runtime's clock).
    #[inline]
    fn elapsed(&self, now: Instant) -> u64 {
        clock::nanos_between(self.origin, now)
    }
}

#[inline]
fn nanos(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(duration.subsec_nanos()))
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Breaker");
        debug.field("name", &self.name);
        if let Some(key) = &self.key {
            debug.field("key", &format_args!("{key}"));
        }
        debug
            .field("state", &self.state())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
