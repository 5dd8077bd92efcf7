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

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::BulkheadConfig;
use super::full::BulkheadFull;
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
        BULKHEAD_LIMIT
            .register(&labels)
            .set(f64::from(config.max_concurrent_value()));
        let inflight = BULKHEAD_INFLIGHT.register(&labels);
        inflight.set(0.0);
        Self {
            name,
            config,
            inflight: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            async_waiters: Notify::new(),
            blocking_waiters: Condvar::new(),
            blocking: Mutex::new(()),
            meters: Meters {
                inflight,
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
            true => Ok(BulkheadPermit { bulkhead: self }),
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
            return Ok(BulkheadPermit { bulkhead: self });
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
            return Ok(BulkheadPermit { bulkhead: self });
        }
        self.wait_blocking()
    }

    /// Takes a slot if fewer than the limit are taken.
    #[inline]
    fn take_slot(&self) -> bool {
        let limit = self.config.max_concurrent_value();
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
    fn give_back(&self) {
        let left = self.inflight.fetch_sub(1, SeqCst) - 1;
        self.meters.inflight.set(f64::from(left));
        // SeqCst with the waiter's count then retry: either it sees this
        // slot free, or this sees it waiting.
        if self.waiting.load(SeqCst) > 0 {
            self.wake_one();
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
        let max_wait = self.config.max_wait_value();
        if max_wait.is_zero() {
            return Err(self.rejected());
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
                return Ok(BulkheadPermit { bulkhead: self });
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.last_try();
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn wait_blocking(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        let max_wait = self.config.max_wait_value();
        if max_wait.is_zero() {
            return Err(self.rejected());
        }
        let deadline = std::time::Instant::now() + max_wait;
        let _waiting = Waiting::register(self);
        let mut blocking = self.blocking.lock();
        loop {
            if self.take_slot() {
                return Ok(BulkheadPermit { bulkhead: self });
            }
            if self
                .blocking_waiters
                .wait_until(&mut blocking, deadline)
                .timed_out()
            {
                drop(blocking);
                return self.last_try();
            }
        }
    }

    /// At the end of `max_wait`: a slot freed just now, else the refusal. A
    /// waiter woken for a slot it did not take passes the wake on.
    fn last_try(&self) -> Result<BulkheadPermit<'_>, BulkheadFull> {
        if self.take_slot() {
            return Ok(BulkheadPermit { bulkhead: self });
        }
        Err(self.rejected())
    }

    /// A refusal after the wait: counted, and an event.
    #[cold]
    fn rejected(&self) -> BulkheadFull {
        self.meters.rejected.increment(1);
        crate::recovery::bulkhead_rejected();
        let full = self.full(self.config.max_wait_value());
        tracing::warn!(
            target: "resilience", bulkhead = self.name,
            max_concurrent = self.config.max_concurrent_value(),
            max_wait_ms = crate::clock::millis(self.config.max_wait_value()),
            "call rejected: every slot of the bulkhead is taken"
        );
        full
    }

    fn full(&self, waited: Duration) -> BulkheadFull {
        BulkheadFull::new(self.name, self.config.max_concurrent_value(), waited)
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
            && bulkhead.inflight.load(SeqCst) < bulkhead.config.max_concurrent_value()
        {
            bulkhead.wake_one();
        }
    }
}

/// A running call's slot: given back when it is dropped — when the call
/// ends, panics, or its future is dropped.
#[must_use = "the slot is given back when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
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
        self.bulkhead.give_back();
    }
}
