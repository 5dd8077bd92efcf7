//! [`Bulkhead`]: the count of calls running, the wait for a slot, and the
//! [`BulkheadPermit`] a running call holds.
//!
//! The healthy path is two atomic operations on one counter: a
//! compare-and-swap that takes a slot while fewer than the limit are taken,
//! and a subtraction when the call ends. Waiting is off that path: a call
//! that finds every slot taken registers as a waiter (an async one on a
//! `tokio::sync::Notify`, a blocking one on a condition variable) and
//! tries again each time a slot is given back, until `max_wait` ends. Slots
//! go to whichever waiter (or new call) takes them first: not first come,
//! first served.

use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::BulkheadConfig;
use super::full::BulkheadFull;
use super::vegas::Vegas;
use crate::clock::{self, Instant};
use crate::meters::{Counter, CounterDef, Gauge, GaugeDef};

/// `bulkhead_inflight{bulkhead}`: calls running.
static BULKHEAD_INFLIGHT: GaugeDef = GaugeDef::new(
    "bulkhead_inflight",
    "Calls running through each #[bulkhead]",
);

/// `bulkhead_limit{bulkhead}`: calls allowed at once.
static BULKHEAD_LIMIT: GaugeDef =
    GaugeDef::new("bulkhead_limit", "Calls each #[bulkhead] lets run at once");

/// `bulkhead_rejected_total{bulkhead}`: calls turned away.
static BULKHEAD_REJECTED_TOTAL: CounterDef = CounterDef::new(
    "bulkhead_rejected_total",
    "Calls a full #[bulkhead] turned away: they did not run",
);

/// How long an adaptive bulkhead may stay full before its waits shrink
/// (CoDel's interval).
const STANDING_QUEUE: Duration = Duration::from_millis(100);
/// The longest wait under a standing queue (CoDel's target).
const SHORT_WAIT: Duration = Duration::from_millis(5);

/// A limit on how many calls run at once.
///
/// `#[bulkhead]` keeps one per name (see [`get`](super::get) and [`all`](super::all)); one
/// of your own works the same:
///
/// ```
/// use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
///
/// let bulkhead = Bulkhead::new("reports", BulkheadConfig::new(2));
/// let first = bulkhead.try_acquire().unwrap();
/// let second = bulkhead.try_acquire().unwrap();
/// assert!(bulkhead.try_acquire().is_err(), "two running: full");
/// drop(first);
/// assert!(bulkhead.try_acquire().is_ok(), "a slot was given back");
/// # drop(second);
/// ```
pub struct Bulkhead {
    name: &'static str,
    config: BulkheadConfig,
    /// Slots taken.
    inflight: AtomicU32,
    /// Slots allowed now: `max_concurrent`, or the adaptive limit.
    limit: AtomicU32,
    /// The adaptive limit's controller, when the limit adapts.
    limiter: Option<Mutex<Vegas>>,
    /// Nanoseconds from `origin` (plus one) since which calls have found
    /// the bulkhead full with others waiting; 0 while they do not.
    full_since: AtomicU64,
    origin: Instant,
    /// Calls waiting for a slot, async and blocking: a permit given back
    /// wakes one only when there is one.
    pub(super) waiting: AtomicU32,
    /// Async waiters wait on it.
    async_waiters: Notify,
    /// Blocking waiters wait on it, under `blocking`.
    blocking_waiters: Condvar,
    blocking: Mutex<()>,
    meters: Meters,
}

struct Meters {
    inflight: Gauge,
    limit: Gauge,
    rejected: Counter,
}

impl std::fmt::Debug for Bulkhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bulkhead")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("inflight", &self.inflight())
            .finish()
    }
}

impl Bulkhead {
    /// A bulkhead of your own, outside the registry: its name is a label
    /// for [`BulkheadFull`], events and metrics.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(4));
    /// assert_eq!(bulkhead.name(), "exports");
    /// ```
    pub fn new(name: &'static str, config: BulkheadConfig) -> Self {
        let labels = [("bulkhead", name)];
        let limit = BULKHEAD_LIMIT.register(&labels);
        limit.set(f64::from(config.max_concurrent_value()));
        let inflight = BULKHEAD_INFLIGHT.register(&labels);
        inflight.set(0.0);
        let limiter = config
            .adaptive_floor()
            .map(|floor| Mutex::new(Vegas::new(floor, config.max_concurrent_value())));
        Self {
            name,
            config,
            inflight: AtomicU32::new(0),
            limit: AtomicU32::new(config.max_concurrent_value()),
            limiter,
            full_since: AtomicU64::new(0),
            origin: clock::now(),
            waiting: AtomicU32::new(0),
            async_waiters: Notify::new(),
            blocking_waiters: Condvar::new(),
            blocking: Mutex::new(()),
            meters: Meters {
                inflight,
                limit,
                rejected: BULKHEAD_REJECTED_TOTAL.register(&labels),
            },
        }
    }

    /// Its name.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// assert_eq!(Bulkhead::new("exports", BulkheadConfig::new(1)).name(), "exports");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its configuration.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(3));
    /// assert_eq!(bulkhead.config().max_concurrent_value(), 3);
    /// ```
    pub fn config(&self) -> &BulkheadConfig {
        &self.config
    }

    /// Calls running now.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(3));
    /// let _running = bulkhead.try_acquire().unwrap();
    /// assert_eq!(bulkhead.inflight(), 1);
    /// ```
    pub fn inflight(&self) -> u32 {
        self.inflight.load(SeqCst)
    }

    /// A slot if one is free now, else [`BulkheadFull`] at once (no wait,
    /// whatever `max_wait` says; nothing counted).
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(1));
    /// let running = bulkhead.try_acquire().unwrap();
    /// assert_eq!(bulkhead.try_acquire().unwrap_err().bulkhead(), "exports");
    /// # drop(running);
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        match self.take_slot() {
            true => Ok(self.permit()),
            false => Err(self.full(Duration::ZERO)),
        }
    }

    /// A slot, waiting up to `max_wait` for one (on the tokio clock, so a
    /// paused runtime drives the wait); else [`BulkheadFull`], counted in
    /// `bulkhead_rejected_total`. What an `async fn` under `#[bulkhead]`
    /// awaits.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// # use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let config = BulkheadConfig::new(1).max_wait(Duration::from_millis(50));
    /// let bulkhead = Bulkhead::new("exports", config);
    /// let running = bulkhead.acquire().await.unwrap();
    /// assert!(bulkhead.acquire().await.is_err(), "50 ms, and no slot freed");
    /// drop(running);
    /// assert!(bulkhead.acquire().await.is_ok());
    /// # }
    /// ```
    #[inline]
    pub async fn acquire(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        if self.take_slot() {
            return Ok(self.permit());
        }
        self.wait_async().await
    }

    /// [`acquire`](Self::acquire) for a blocking call: the thread waits (on
    /// the system clock) up to `max_wait`. What a sync `fn` under
    /// `#[bulkhead]` calls.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(1));
    /// let running = bulkhead.acquire_blocking().unwrap();
    /// assert!(bulkhead.acquire_blocking().is_err(), "max_wait 0: no wait");
    /// # drop(running);
    /// ```
    #[inline]
    pub fn acquire_blocking(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        if self.take_slot() {
            return Ok(self.permit());
        }
        self.wait_blocking()
    }

    /// Calls allowed at once now: `max_concurrent`, or, for an adaptive
    /// bulkhead, its current limit.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
    /// let bulkhead = Bulkhead::new("exports", BulkheadConfig::new(8).adaptive(2));
    /// assert_eq!(bulkhead.limit(), 8, "an adaptive limit starts at max_concurrent");
    /// ```
    pub fn limit(&self) -> u32 {
        self.limit.load(Relaxed)
    }

    /// The permit of a slot just taken: dated when the limit adapts to
    /// the calls' latency.
    #[inline]
    fn permit(&self) -> BulkheadPermit<'_> {
        BulkheadPermit {
            bulkhead: self,
            started: self.limiter.as_ref().map(|_| clock::now()),
        }
    }

    /// Takes a slot if fewer than the limit are taken.
    #[inline]
    fn take_slot(&self) -> bool {
        let limit = self.limit.load(Relaxed);
        let mut taken = self.inflight.load(SeqCst);
        loop {
            if taken >= limit {
                return false;
            }
            match self
                .inflight
                .compare_exchange_weak(taken, taken + 1, SeqCst, SeqCst)
            {
                Ok(_) => {
                    self.meters.inflight.set(f64::from(taken + 1));
                    return true;
                }
                Err(now) => taken = now,
            }
        }
    }

    /// Gives a slot back, and wakes one waiter if any waits.
    #[inline]
    fn give_back(&self, started: Option<Instant>) {
        let left = self.inflight.fetch_sub(1, SeqCst) - 1;
        self.meters.inflight.set(f64::from(left));
        if let Some(started) = started {
            self.adapt(started, left + 1);
        }
        // SeqCst with the waiter's count then retry: either it sees this
        // slot free, or this sees it waiting.
        if self.waiting.load(SeqCst) > 0 {
            self.wake_one();
        }
    }

    /// Feeds a call's latency to the adaptive limit; clears the standing
    /// queue mark once nobody waits.
    #[inline(never)]
    fn adapt(&self, started: Instant, inflight: u32) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let nanos = clock::nanos_between(started, clock::now());
        let sampled = limiter.lock().sample(nanos, inflight);
        if let Some(limit) = sampled
            && self.limit.swap(limit, Relaxed) != limit
        {
            self.meters.limit.set(f64::from(limit));
        }
        if self.waiting.load(SeqCst) == 0 && self.full_since.load(Relaxed) != 0 {
            self.full_since.store(0, Relaxed);
        }
    }

    /// How long a call that found the bulkhead full waits: `max_wait`, or,
    /// for an adaptive bulkhead full for longer than [`STANDING_QUEUE`],
    /// at most [`SHORT_WAIT`] (CoDel: a standing queue only adds latency).
    fn wait_for_slot(&self) -> Duration {
        let max_wait = self.config.max_wait_value();
        if self.limiter.is_none() || max_wait.is_zero() {
            return max_wait;
        }
        let now = clock::nanos_between(self.origin, clock::now()) + 1;
        let since = match self.full_since.compare_exchange(0, now, Relaxed, Relaxed) {
            Ok(_) => now,
            Err(since) => since,
        };
        if Duration::from_nanos(now - since.min(now)) > STANDING_QUEUE {
            max_wait.min(SHORT_WAIT)
        } else {
            max_wait
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_one(&self) {
        // One of each kind: the one that does not find the slot waits again.
        self.async_waiters.notify_one();
        let _blocking = self.blocking.lock();
        self.blocking_waiters.notify_one();
    }

    #[cold]
    #[inline(never)]
    async fn wait_async(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        let max_wait = self.wait_for_slot();
        if max_wait.is_zero() {
            return Err(self.rejected(Duration::ZERO));
        }
        let deadline = tokio::time::Instant::now() + max_wait;
        let _waiting = Waiting::register(self);
        loop {
            let notified = self.async_waiters.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the retry: a slot given back after it
            // wakes this waiter.
            notified.as_mut().enable();
            if self.take_slot() {
                return Ok(self.permit());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.last_try(max_wait);
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_blocking(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        let max_wait = self.wait_for_slot();
        if max_wait.is_zero() {
            return Err(self.rejected(Duration::ZERO));
        }
        let deadline = std::time::Instant::now() + max_wait;
        let _waiting = Waiting::register(self);
        let mut blocking = self.blocking.lock();
        loop {
            if self.take_slot() {
                return Ok(self.permit());
            }
            if self
                .blocking_waiters
                .wait_until(&mut blocking, deadline)
                .timed_out()
            {
                drop(blocking);
                return self.last_try(max_wait);
            }
        }
    }

    /// At the end of `max_wait`: a slot freed just now, else the refusal. A
    /// waiter woken for a slot it did not take passes the wake on.
    fn last_try(&self, waited: Duration) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        if self.take_slot() {
            return Ok(self.permit());
        }
        Err(self.rejected(waited))
    }

    /// A refusal after the wait: counted, and an event.
    #[cold]
    fn rejected(&self, waited: Duration) -> BulkheadFull {
        self.meters.rejected.increment(1);
        crate::recovery::bulkhead_rejected();
        let full = self.full(waited);
        tracing::warn!(
            target: "resilience", bulkhead = self.name,
            max_concurrent = self.limit(),
            max_wait_ms = crate::clock::millis(waited),
            "call rejected: every slot of the bulkhead is taken"
        );
        full
    }

    fn full(&self, waited: Duration) -> BulkheadFull {
        BulkheadFull::new(self.name, self.limit(), waited)
    }
}

/// A waiter, counted while it waits (also when its future is dropped).
struct Waiting<'a>(&'a Bulkhead);

impl<'a> Waiting<'a> {
    fn register(bulkhead: &'a Bulkhead) -> Self {
        bulkhead.waiting.fetch_add(1, SeqCst);
        Self(bulkhead)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let bulkhead = self.0;
        bulkhead.waiting.fetch_sub(1, SeqCst);
        // A wake meant for this waiter, which leaves without a slot, goes
        // to the next one while a slot is free.
        if bulkhead.waiting.load(SeqCst) > 0
            && bulkhead.inflight.load(SeqCst) < bulkhead.limit.load(Relaxed)
        {
            bulkhead.wake_one();
        }
    }
}

/// A running call's slot: given back when it is dropped — when the call
/// ends, panics, or its future is dropped.
///
/// ```
/// use resilience_runtime::bulkhead::{Bulkhead, BulkheadConfig};
///
/// let bulkhead = Bulkhead::new("permit-docs", BulkheadConfig::new(1));
/// let permit = bulkhead.try_acquire().expect("a free slot");
/// assert!(bulkhead.try_acquire().is_err(), "the one slot is taken");
/// drop(permit);
/// assert!(bulkhead.try_acquire().is_ok());
/// ```
#[must_use = "the slot is given back when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
    /// When the call started, for an adaptive limit.
    started: Option<Instant>,
}

impl std::fmt::Debug for BulkheadPermit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BulkheadPermit")
            .field(&self.bulkhead.name)
            .finish()
    }
}

impl Drop for BulkheadPermit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.bulkhead.give_back(self.started);
    }
}
