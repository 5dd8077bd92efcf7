//! Single flight: one load per key at a time, shared by every caller that
//! arrives while it runs.
//!
//! The first caller to board a key's flight leads it: it runs the load and
//! lands the flight with the outcome. Callers that board while it runs wait,
//! blocking (sync) or awaiting (async) on the same flight, and read how it
//! landed. The map of flights is locked only to add or remove one, never
//! across a load, so different keys never wait for each other's loads.
//!
//! A leader that unwinds (its load panicked) or is dropped (its future was
//! cancelled) lands the flight as [`Landing::Abandoned`] from its `Drop`, so
//! a key is never left wedged: the waiters look again and one of them leads.

use std::collections::HashMap;
use std::hash::Hash;
use std::pin::pin;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use tokio::sync::Notify;

use super::errors::SharedError;
use super::report::Outcome;

/// How a flight landed, as its waiters see it.
#[derive(Clone)]
pub(super) enum Landing<V> {
    /// The load succeeded with this value; the waiters report the leader's
    /// outcome as theirs.
    Loaded(V, Outcome),
    /// The load failed. The waiters serve a stale value if they can, else
    /// return their copy of the error when it was shared, else load for
    /// themselves (`E` need not be `Clone`).
    Failed(Option<SharedError>),
    /// The leader left without an outcome (its load panicked, or its future
    /// was dropped): the waiters look again, and one of them leads.
    Abandoned,
}

/// The flights in progress, one per key at most.
pub(super) struct Flights<K, V> {
    map: Mutex<HashMap<K, Arc<Flight<V>>>>,
}

struct Flight<V> {
    landing: Mutex<Option<Landing<V>>>,
    /// Wakes sync waiters.
    landed: Condvar,
    /// Wakes async waiters.
    notify: Notify,
}

/// What boarding a key's flight made of the caller.
pub(super) enum Boarding<K: Hash + Eq, V> {
    /// No flight was in progress: the caller runs the load.
    Lead(Lead<K, V>),
    /// A flight was in progress: the caller waits for it.
    Wait(Waiting<V>),
}

/// The leader's hold on a flight. Dropping it without [`Lead::land`] lands
/// the flight as [`Landing::Abandoned`].
pub(super) struct Lead<K: Hash + Eq, V> {
    flights: Arc<Flights<K, V>>,
    key: K,
    flight: Option<Arc<Flight<V>>>,
}

/// A waiter's hold on a flight.
pub(super) struct Waiting<V>(Arc<Flight<V>>);

impl<K: Hash + Eq + Clone, V> Flights<K, V> {
    pub(super) fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    /// Joins the flight for `key`, or starts one and leads it.
    pub(super) fn board(self: &Arc<Self>, key: &K) -> Boarding<K, V> {
        let mut map = self.map.lock();
        if let Some(flight) = map.get(key) {
            return Boarding::Wait(Waiting(Arc::clone(flight)));
        }
        // Both copies of the key first: a `Clone` that panics leaves no
        // flight behind that nobody leads.
        let (lead_key, map_key) = (key.clone(), key.clone());
        let flight = Arc::new(Flight {
            landing: Mutex::new(None),
            landed: Condvar::new(),
            notify: Notify::new(),
        });
        map.insert(map_key, Arc::clone(&flight));
        Boarding::Lead(Lead {
            flights: Arc::clone(self),
            key: lead_key,
            flight: Some(flight),
        })
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }

    #[cfg(test)]
    pub(super) fn in_flight(&self, key: &K) -> bool {
        self.map.lock().contains_key(key)
    }

    #[cfg(test)]
    pub(super) fn waiters(&self, key: &K) -> usize {
        // The map and the leader hold one reference each.
        self.map
            .lock()
            .get(key)
            .map_or(0, |flight| Arc::strong_count(flight) - 2)
    }
}

impl<K: Hash + Eq, V> Lead<K, V> {
    /// Ends the flight. `landing` is called only when someone is waiting,
    /// so a load nobody else asked for does not clone its value.
    pub(super) fn land(mut self, landing: impl FnOnce() -> Landing<V>) {
        self.touch_down(landing);
    }

    fn touch_down(&mut self, landing: impl FnOnce() -> Landing<V>) {
        let Some(flight) = self.flight.take() else {
            return;
        };
        {
            // Off the map first: from here on a new caller starts a new
            // flight, and no new waiter can join this one.
            let mut map = self.flights.map.lock();
            if map
                .get(&self.key)
                .is_some_and(|current| Arc::ptr_eq(current, &flight))
            {
                map.remove(&self.key);
            }
        }
        if Arc::strong_count(&flight) == 1 {
            return;
        }
        // `landing` clones the value, and a `Clone` may panic: the waiters
        // are then told the flight was abandoned, never left waiting.
        let abandon_on_unwind = Abandon(&flight);
        let landed = landing();
        std::mem::forget(abandon_on_unwind);
        flight.land(landed);
    }
}

/// Lands a flight as abandoned if dropped, that is, if computing its
/// landing unwound.
struct Abandon<'a, V>(&'a Flight<V>);

impl<V> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.0.land(Landing::Abandoned);
    }
}

impl<V> Flight<V> {
    /// Records how the flight landed and wakes every waiter.
    fn land(&self, landing: Landing<V>) {
        *self.landing.lock() = Some(landing);
        self.landed.notify_all();
        self.notify.notify_waiters();
    }
}

impl<K: Hash + Eq, V> Drop for Lead<K, V> {
    fn drop(&mut self) {
        self.touch_down(|| Landing::Abandoned);
    }
}

impl<V: Clone> Waiting<V> {
    /// Blocks the thread until the flight lands.
    pub(super) fn wait_blocking(self) -> Landing<V> {
        let mut landing = self.0.landing.lock();
        loop {
            if let Some(landed) = &*landing {
                return landed.clone();
            }
            self.0.landed.wait(&mut landing);
        }
    }

    /// Waits, without blocking the thread, until the flight lands.
    pub(super) async fn wait(self) -> Landing<V> {
        loop {
            // Registered from its creation: a landing between the check
            // below and the `await` still wakes it.
            let notified = pin!(self.0.notify.notified());
            if let Some(landed) = &*self.0.landing.lock() {
                return landed.clone();
            }
            notified.await;
        }
    }
}
