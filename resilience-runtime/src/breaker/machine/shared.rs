//! A breaker whose open and half-open state is shared over the fleet.
//!
//! The closed path is untouched: each instance keeps its own window and
//! judges it alone. What crosses the fleet:
//!
//! - a local opening (rate, failed or timed-out probe, `force_open`) is a
//!   vote: with a quorum of 1, or while the fleet holds the breaker open
//!   already, it is published at once; else the instance records its vote
//!   in Redis, and the vote that makes the quorum publishes it. Published,
//!   it is "open until T", stamped with its episode (the wall time it
//!   opened); every instance that hears it opens until T, but never
//!   longer than its own `open_for` from the moment it heard (cause: the
//!   fleet): a far T — a longer `open_for` elsewhere, a clock running
//!   ahead, a hostile writer — cannot keep a replica from probing;
//! - half-open after an opening the fleet shares, an instance probes only
//!   while it holds the fleet's probe lease (a Redis key, time to live
//!   `probe_timeout`); refused, it stays open a little longer and asks
//!   again. After an opening below the quorum it probes on its own: its
//!   own path is what the probe tests;
//! - a local closing (probes succeeded, `reset`) of an opening the fleet
//!   shares is published as "closed" with the episode of the latest
//!   opening it knew, and every instance that hears it closes (cause: the
//!   fleet) — unless it knows of a newer opening, which a late close of an
//!   older one does not cancel. A closing below the quorum takes the
//!   instance's vote back and tells no one; with a quorum above 1, a
//!   "closed" heard ends only an opening the fleet shares, never one an
//!   instance made alone on its own evidence.
//!
//! Fleet transitions are told like local ones (events, listeners, metrics)
//! with [`Origin::Fleet`](crate::breaker::Origin::Fleet), and never
//! published again.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use super::{
    Breaker, CLOSED, Cause, HALF_OPEN, OPEN, STATE_BITS, Transition, generation_of, nanos, word,
};
use crate::breaker::{CircuitOpen, State};
use crate::fleet::{self, Fleet, Signal, Vote};

/// A breaker's link to its fleet: the connection, its quorum, and the
/// episodes it knows of.
pub(super) struct Sharing {
    fleet: Fleet,
    quorum: u32,
    /// Shared with the fleet thread, which marks an opening whose vote
    /// made the quorum.
    episodes: Arc<parking_lot::Mutex<Episodes>>,
    /// Until when (the breaker's nanoseconds) this instance holds the
    /// fleet's probe lease; 0: it does not. Taken by an async call before
    /// it acquires (awaited, off the thread), or by a sync one as it does.
    lease_until: AtomicU64,
}

impl Sharing {
    /// Whether the opening in force (or the next one) spreads to the
    /// fleet at once: always with a quorum of 1, else while the fleet
    /// holds the breaker open.
    fn fleet_wide(&self, episodes: &Episodes) -> bool {
        self.quorum <= 1 || episodes.fleet_open()
    }
}

/// The latest openings and closings known, by episode (the wall time, in
/// Unix milliseconds, at which an opening began; 0: none yet).
#[derive(Debug, Default, Clone, Copy)]
struct Episodes {
    opened: u64,
    closed: u64,
    /// The latest opening the fleet shares: heard from another instance,
    /// or one whose vote made the quorum.
    fleet: u64,
}

impl Episodes {
    /// Whether an opening of `episode` is news: not one already closed.
    fn opens(&mut self, episode: u64) -> bool {
        if self.closed != 0 && episode <= self.closed {
            return false;
        }
        self.opened = self.opened.max(episode);
        true
    }

    /// The latest episode known, opened or closed.
    fn latest(self) -> u64 {
        self.opened.max(self.closed)
    }

    /// Whether a closing of `episode` is news: no newer opening known.
    fn closes(&mut self, episode: u64) -> bool {
        if episode < self.opened {
            return false;
        }
        self.closed = self.closed.max(episode);
        true
    }

    /// The fleet holds the opening of `episode`, unless it was closed.
    fn fleet_opened(&mut self, episode: u64) {
        if episode > self.closed {
            self.fleet = self.fleet.max(episode);
        }
    }

    /// Whether the fleet holds an opening not closed since.
    fn fleet_open(&self) -> bool {
        self.fleet != 0 && self.fleet > self.closed
    }
}

/// How far ahead of this instance's clock an episode heard from the fleet
/// may be; further ahead, it counts as this far.
const MAX_EPISODE_AHEAD_MS: u64 = 1_000;

/// How long an instance refused the probe lease stays open before it asks
/// again (unless the fleet's news comes first).
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(1);

impl Breaker {
    /// Shares this breaker's open and half-open state with every instance
    /// of `fleet` that has a breaker of the same name sharing it too. A
    /// registered breaker with `shared = true` is shared over the process's
    /// fleet ([`fleet::connect`]) when it is registered; this is for
    /// breakers of your own, or tests standing for several replicas.
    /// A breaker is shared over one fleet at most: later calls do nothing.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use resilience_runtime::breaker::{Breaker, BreakerConfig};
    /// use resilience_runtime::fleet::Fleet;
    ///
    /// # async fn run() -> Result<(), resilience_runtime::fleet::FleetError> {
    /// let fleet = Fleet::connect("redis://127.0.0.1:6379", "checkout").await?;
    /// let breaker = Arc::new(Breaker::new("payments", BreakerConfig::new()));
    /// breaker.share_on(&fleet);
    /// # Ok(()) }
    /// ```
    pub fn share_on(self: &Arc<Self>, fleet: &Fleet) {
        let sharing = Sharing {
            fleet: fleet.clone(),
            quorum: self.config.quorum_value(),
            episodes: Arc::default(),
            lease_until: AtomicU64::new(0),
        };
        if self.fleet.set(sharing).is_err() {
            return;
        }
        let breaker = Arc::downgrade(self);
        fleet.watch_breaker(
            self.name,
            Arc::new(move |signal| {
                if let Some(breaker) = breaker.upgrade() {
                    breaker.hear(signal);
                }
            }),
        );
    }

    /// Before a call may probe: the fleet's probe lease. `Err` when another
    /// instance holds it. Below the quorum the probe is this instance's
    /// own: `Ok` at once. A sync caller asks Redis here, on its thread (at
    /// most the operation bound); an async one has asked already, in
    /// [`lease_before_acquire`](Self::lease_before_acquire).
    pub(super) fn fleet_probe(&self, now: u64) -> Result<(), CircuitOpen> {
        let Some(sharing) = self.fleet.get() else {
            return Ok(());
        };
        if now < sharing.lease_until.load(Acquire) || !self.wants_fleet_probe(sharing, now) {
            return Ok(());
        }
        let ttl = self.config.probe_timeout_value();
        if sharing.fleet.take_probe_blocking(self.name, ttl) {
            sharing
                .lease_until
                .store(now.saturating_add(nanos(ttl)), Release);
            return Ok(());
        }
        Err(self.lease_refused(now))
    }

    /// For an async call of a shared breaker, before it acquires: when the
    /// call would probe for the fleet, takes the fleet's probe lease
    /// *awaiting* Redis, so no Redis call blocks the caller's thread (an
    /// async runtime's worker). `Err` when another instance holds it.
    pub(super) async fn lease_before_acquire(&self) -> Result<(), CircuitOpen> {
        let Some(sharing) = self.fleet.get() else {
            return Ok(());
        };
        if self.word.load(Acquire) & STATE_BITS == CLOSED {
            return Ok(());
        }
        let now = self.elapsed(crate::clock::fresh());
        if now < sharing.lease_until.load(Acquire) || !self.wants_fleet_probe(sharing, now) {
            return Ok(());
        }
        let ttl = self.config.probe_timeout_value();
        if sharing.fleet.take_probe(self.name, ttl).await {
            sharing
                .lease_until
                .store(now.saturating_add(nanos(ttl)), Release);
            return Ok(());
        }
        Err(self.lease_refused(now))
    }

    /// Whether a call now would probe an opening the fleet shares (below
    /// the quorum the probe is this instance's own, and needs no lease).
    fn wants_fleet_probe(&self, sharing: &Sharing, now: u64) -> bool {
        sharing.fleet_wide(&sharing.episodes.lock()) && self.wants_probe(now)
    }

    /// Another instance probes: stay open a while, without asking Redis on
    /// every call; its outcome reaches us as news before then.
    fn lease_refused(&self, now: u64) -> CircuitOpen {
        let again = now.saturating_add(nanos(ASK_AGAIN_AFTER.min(self.config.open_for_value())));
        let machine = self.lock();
        if self.word.load(Relaxed) & STATE_BITS == OPEN {
            self.open_until.store(again, Relaxed);
        }
        drop(machine);
        self.reject(again.saturating_sub(now), true)
    }

    /// A probe lease taken but not used (no local slot was free, or the
    /// probe was dropped): give it back.
    pub(super) fn fleet_probe_unused(&self) {
        if let Some(Sharing {
            fleet, lease_until, ..
        }) = self.fleet.get()
        {
            lease_until.store(0, Release);
            fleet.release_probe(self.name);
        }
    }

    /// Whether a call now would probe: open past its time, or half-open
    /// with a slot free.
    fn wants_probe(&self, now: u64) -> bool {
        let machine = self.lock();
        match self.word.load(Relaxed) & STATE_BITS {
            OPEN => now >= self.open_until.load(Relaxed),
            HALF_OPEN => {
                machine.in_flight + machine.succeeded
                    < u64::from(self.config.half_open_calls_value())
            }
            _ => false,
        }
    }

    /// Tells the fleet of a local transition.
    pub(super) fn publish(&self, transition: &Transition) {
        let Some(sharing) = self.fleet.get() else {
            return;
        };
        let Sharing {
            fleet,
            episodes,
            lease_until,
            ..
        } = sharing;
        // An opening or a closing ends the probes: the next asks again.
        if transition.change.to != State::HalfOpen {
            lease_until.store(0, Release);
        }
        if transition.cause.origin() == crate::breaker::Origin::Fleet {
            return;
        }
        match transition.change.to {
            State::Open => {
                let until = self.open_until.load(Acquire);
                let until_at = self.origin + Duration::from_nanos(until);
                let now = crate::clock::now();
                let left = until_at.saturating_duration_since(now);
                // Later than any episode known here, whatever this clock
                // says: a close stamped by a clock running ahead must not
                // make this opening look old to the others.
                let mut known = episodes.lock();
                let episode = fleet::millis_at(now).max(known.latest().saturating_add(1));
                let wide = sharing.fleet_wide(&known);
                known.opens(episode);
                if wide {
                    known.fleet_opened(episode);
                }
                drop(known);
                let until = fleet::millis_at(until_at);
                if wide {
                    fleet.publish_open(self.name, until, episode, left);
                    return;
                }
                let vote = Vote {
                    name: self.name,
                    until,
                    episode,
                    open_for: left,
                    lifetime: self.config.open_for_value(),
                    quorum: sharing.quorum,
                };
                let episodes = Arc::clone(episodes);
                fleet.vote_open(&vote, move || episodes.lock().fleet_opened(episode));
            }
            State::Closed => {
                let mut known = episodes.lock();
                let wide = sharing.fleet_wide(&known);
                let episode = known.opened;
                known.closes(episode);
                drop(known);
                if wide {
                    fleet.publish_closed(self.name, episode);
                } else {
                    fleet.withdraw_vote(self.name);
                }
            }
            State::HalfOpen => {}
        }
    }

    /// News from another instance.
    fn hear(&self, signal: Signal) {
        let Some(sharing) = self.fleet.get() else {
            return;
        };
        // An episode is another machine's clock: one from further ahead
        // than clocks differ counts as now, so no value (up to u64::MAX)
        // can make every later opening look old.
        let now = fleet::now_millis();
        let clamp = |episode: u64| episode.min(now.saturating_add(MAX_EPISODE_AHEAD_MS));
        match signal {
            Signal::OpenUntil { until, episode } => {
                let news = until > now && {
                    let mut known = sharing.episodes.lock();
                    let news = known.opens(clamp(episode));
                    if news {
                        known.fleet_opened(clamp(episode));
                    }
                    news
                };
                if news {
                    // Never longer than this replica's own `open_for`
                    // from now: T is another machine's word.
                    let left = Duration::from_millis(until - now);
                    self.open_from_fleet(left.min(self.config.open_for_value()));
                }
            }
            Signal::Closed { episode } => {
                let mut known = sharing.episodes.lock();
                // Below the quorum an opening is this replica's own
                // evidence: another's close says nothing of its path.
                let closes = sharing.fleet_wide(&known) && known.closes(clamp(episode));
                drop(known);
                if closes {
                    self.close_from_fleet();
                }
            }
        }
    }

    /// Opens for `left` from now, unless open that long already.
    fn open_from_fleet(&self, left: Duration) {
        let until = self
            .elapsed(crate::clock::now())
            .saturating_add(nanos(left));
        let mut machine = self.lock();
        let current = self.word.load(Relaxed);
        if current & STATE_BITS == OPEN && self.open_until.load(Relaxed) >= until {
            return;
        }
        self.open_until.store(until, Relaxed);
        let next = word(generation_of(current), OPEN);
        let told = self.set_locked(&mut machine, current, next, Cause::FleetOpened, None);
        drop(machine);
        if told {
            self.tell();
        }
    }

    /// Closes with an empty window, unless closed already.
    fn close_from_fleet(&self) {
        let mut machine = self.lock();
        let current = self.word.load(Relaxed);
        if current & STATE_BITS == CLOSED {
            return;
        }
        let next = word(generation_of(current).wrapping_add(1), CLOSED);
        let told = self.set_locked(&mut machine, current, next, Cause::FleetClosed, None);
        drop(machine);
        if told {
            self.tell();
        }
    }
}
