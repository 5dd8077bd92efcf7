//! Keyed breakers: one breaker per key under one name (per host, per
//! tenant), in a bounded map.

use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use foldhash::fast::RandomState;

use super::tally::CallTally;
use super::{Breaker, BreakerConfig, State};

/// How many keys a keyed breaker keeps by default. Past it, the closed
/// breakers used least recently are dropped first.
///
/// ```
/// assert_eq!(resilience_runtime::breaker::DEFAULT_MAX_KEYS, 4096);
/// ```
pub const DEFAULT_MAX_KEYS: u64 = 4096;

/// What a breaker key needs: to be told apart (`Hash + Eq`), kept in the
/// map (`Clone + Send + Sync + 'static`) and named in events and the
/// registry (`Debug`).
///
/// ```
/// use resilience_runtime::breaker::BreakerKey;
/// fn keys<K: BreakerKey>(_: K) {}
/// keys(String::from("db-1.internal"));
/// keys(("db-1.internal".to_string(), 5432_u16));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot key a circuit breaker",
    label = "the `key` of this `#[breaker]`",
    note = "a breaker key must be `Hash + Eq + Clone + Debug + Send + Sync + 'static`: key by an owned value (a `&str` is made a `String` for you), or derive what is missing"
)]
pub trait BreakerKey: Hash + Eq + Clone + fmt::Debug + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + fmt::Debug + Send + Sync + 'static> BreakerKey for T {}

/// One breaker per key, all under one name and one configuration: a host
/// that fails opens its own breaker, and the others stay closed.
///
/// `#[breaker(name = "hosts", key = host)]` keeps one in the
/// [registry](super::registry()) for each name. The breakers live in a
/// bounded map (a [`papaya`](https://docs.rs/papaya) map, whose look-ups
/// take no lock): at most [`DEFAULT_MAX_KEYS`] keys by default, so a
/// million distinct keys never grow memory without bound.
///
/// **Which keys go.** When a new key finds the map full, the map drops the
/// *closed* breakers used least recently, down to 15/16 of `max_keys` (so
/// its pass over the keys is paid once per `max_keys / 16` new keys, not on
/// every one). An open or half-open breaker goes only when no closed one
/// idles (unused since the last key was added): a failing host stays cut
/// off however many other hosts are called meanwhile, where a plain
/// least-recently-used map would drop it and let the next call hammer it
/// again. When every key kept is open, the open one used least recently
/// goes, so that a new host is still tracked. A key that comes back
/// after being dropped starts closed, with an empty window; what its
/// breaker counted for `breaker_calls_total` is kept (the keys count into
/// their name's per-thread tally, not their own).
///
/// **Cost per key.** A breaker of a name alone keeps one window shard per
/// thread slot (about four per CPU), so that threads never write one
/// another's counters; a key sees a fraction of the traffic, so a key's
/// breaker keeps one window, shared by the threads calling that key
/// (updated by compare-and-swap). A key costs about 740 bytes with a short
/// string key, map entry included (measured in BENCHMARKS.md), whatever the
/// number of CPUs.
///
/// ```
/// use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers, State};
///
/// let hosts = KeyedBreakers::new("hosts", BreakerConfig::new().min_calls(2));
/// for _ in 0..2 {
///     hosts.breaker("a.example".to_owned()).try_acquire().unwrap().record(true);
/// }
/// assert_eq!(hosts.breaker("a.example".to_owned()).state(), State::Open);
/// assert_eq!(hosts.breaker("b.example".to_owned()).state(), State::Closed);
/// ```
pub struct KeyedBreakers<K> {
    name: &'static str,
    config: BreakerConfig,
    max_keys: u64,
    breakers: papaya::HashMap<K, Arc<Breaker>, RandomState>,
    /// Keys added so far: a key's breaker notes the count at its last use
    /// (`Breaker::note_use`), its recency for the eviction.
    added: AtomicU64,
    /// Held by the one thread that evicts.
    evicting: Mutex<()>,
    /// The name's `breaker_calls_total`, counted per thread for all its
    /// keys: registered with the first key, as a breaker registers its
    /// handles on its first call.
    calls: OnceLock<CallTally>,
}

impl<K: BreakerKey> KeyedBreakers<K> {
    /// Breakers of the name `name`, one per key, keeping at most
    /// [`DEFAULT_MAX_KEYS`] keys.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers, DEFAULT_MAX_KEYS};
    /// let tenants: KeyedBreakers<u64> = KeyedBreakers::new("tenants", BreakerConfig::new());
    /// assert_eq!(tenants.max_keys(), DEFAULT_MAX_KEYS);
    /// ```
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        Self::with_max_keys(name, config, DEFAULT_MAX_KEYS)
    }

    /// Breakers of the name `name`, keeping at most `max_keys` keys (at
    /// least one).
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// let shards: KeyedBreakers<u16> = KeyedBreakers::with_max_keys("shards", BreakerConfig::new(), 64);
    /// assert_eq!(shards.max_keys(), 64);
    /// ```
    pub fn with_max_keys(name: &'static str, config: BreakerConfig, max_keys: u64) -> Self {
        let max_keys = max_keys.max(1);
        Self {
            name,
            config,
            max_keys,
            breakers: papaya::HashMap::with_hasher(RandomState::default()),
            added: AtomicU64::new(0),
            evicting: Mutex::new(()),
            calls: OnceLock::new(),
        }
    }

    /// The name all the keys share.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// # let hosts: KeyedBreakers<String> = KeyedBreakers::new("hosts", BreakerConfig::new());
    /// assert_eq!(hosts.name(), "hosts");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The configuration every key's breaker runs with.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// let hosts: KeyedBreakers<String> = KeyedBreakers::new("hosts", BreakerConfig::new().min_calls(3));
    /// assert_eq!(hosts.config().min_calls_value(), 3);
    /// ```
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The most keys kept.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// # let hosts: KeyedBreakers<String> = KeyedBreakers::with_max_keys("hosts", BreakerConfig::new(), 10);
    /// assert_eq!(hosts.max_keys(), 10);
    /// ```
    pub fn max_keys(&self) -> u64 {
        self.max_keys
    }

    /// The breaker of `key`, made (closed) if the key has none.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// let hosts = KeyedBreakers::new("hosts", BreakerConfig::new());
    /// let breaker = hosts.breaker("a.example".to_owned());
    /// assert_eq!(breaker.name(), "hosts");
    /// assert!(std::sync::Arc::ptr_eq(&breaker, &hosts.breaker("a.example".to_owned())));
    /// ```
    #[inline]
    pub fn breaker(&self, key: K) -> Arc<Breaker> {
        let breakers = self.breakers.pin();
        if let Some(breaker) = breakers.get(&key) {
            breaker.note_use(self.added.load(Relaxed));
            return Arc::clone(breaker);
        }
        drop(breakers);
        self.insert(key)
    }

    #[cold]
    #[inline(never)]
    fn insert(&self, key: K) -> Arc<Breaker> {
        let text = format!("{key:?}").into_boxed_str();
        let calls = self.calls.get_or_init(|| CallTally::register(self.name));
        let added = self.added.fetch_add(1, Relaxed).wrapping_add(1);
        let breakers = self.breakers.pin();
        let breaker = Arc::clone(breakers.get_or_insert_with(key, || {
            Arc::new(Breaker::keyed(self.name, self.config, text, calls.clone()))
        }));
        drop(breakers);
        breaker.note_use(added);
        if self.breakers.len() as u64 > self.max_keys {
            self.evict(false);
        }
        breaker
    }

    /// Drops keys past `max_keys`: the closed breakers used least recently
    /// first, down to 15/16 of `max_keys`; see the type's docs. `wait`:
    /// whether to wait for another thread evicting, else leave it to it.
    #[cold]
    fn evict(&self, wait: bool) {
        let _evicting = if wait {
            self.evicting.lock().unwrap_or_else(PoisonError::into_inner)
        } else {
            match self.evicting.try_lock() {
                Ok(evicting) => evicting,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return,
            }
        };
        let breakers = self.breakers.pin();
        let kept = breakers.len() as u64;
        if kept <= self.max_keys {
            return;
        }
        let keep = self.max_keys - self.max_keys / 16;
        let excess = usize::try_from(kept - keep).unwrap_or(usize::MAX);
        // Closed before open or half-open, then least recently used first;
        // a key used since the last key was added (the one just added, or
        // one in use) only when nothing else is left.
        let now = self.added.load(Relaxed);
        let mut order: Vec<((u8, u64), &K)> = breakers
            .iter()
            .map(|(key, breaker)| {
                let used = breaker.last_used();
                let rank = match breaker.state() {
                    _ if used >= now => 2,
                    State::Closed => 0,
                    State::Open | State::HalfOpen => 1,
                };
                ((rank, used), key)
            })
            .collect();
        if excess < order.len() {
            order.select_nth_unstable_by_key(excess, |(rank, _)| *rank);
        }
        for (_, key) in order.iter().take(excess) {
            breakers.remove(*key);
        }
    }

    /// The breaker of `key`, if it has one now.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// let hosts = KeyedBreakers::new("hosts", BreakerConfig::new());
    /// assert!(hosts.get(&"a.example".to_owned()).is_none());
    /// hosts.breaker("a.example".to_owned());
    /// assert!(hosts.get(&"a.example".to_owned()).is_some());
    /// ```
    pub fn get(&self, key: &K) -> Option<Arc<Breaker>> {
        self.breakers.pin().get(key).cloned()
    }

    /// Every key kept now, with its breaker, in no particular order.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers, State};
    /// let hosts = KeyedBreakers::new("hosts", BreakerConfig::new());
    /// hosts.breaker("a.example".to_owned()).force_open();
    /// let open: Vec<String> = hosts
    ///     .breakers()
    ///     .into_iter()
    ///     .filter(|(_, breaker)| breaker.state() == State::Open)
    ///     .map(|(key, _)| key)
    ///     .collect();
    /// assert_eq!(open, ["a.example"]);
    /// ```
    pub fn breakers(&self) -> Vec<(K, Arc<Breaker>)> {
        self.breakers
            .pin()
            .iter()
            .map(|(key, breaker)| (K::clone(key), Arc::clone(breaker)))
            .collect()
    }

    /// How many keys are kept now. Evictions are applied first, so this is
    /// never above [`max_keys`](Self::max_keys) (and, past it, drops to
    /// 15/16 of it: see the type's docs).
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakers};
    /// let hosts = KeyedBreakers::with_max_keys("hosts", BreakerConfig::new(), 2);
    /// for host in ["a", "b", "c"] {
    ///     hosts.breaker(host.to_owned());
    /// }
    /// assert_eq!(hosts.key_count(), 2);
    /// ```
    pub fn key_count(&self) -> u64 {
        self.evict(true);
        self.breakers.len() as u64
    }
}

impl<K> fmt::Debug for KeyedBreakers<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedBreakers")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

mod registered;
mod slot;

pub use slot::KeyedBreakerSlot;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::State;
    use crate::test_events::{record_events, recorded_events};

    #[test]
    fn a_transition_event_names_the_key() {
        let hosts = KeyedBreakers::new("keyed-events", BreakerConfig::new());
        let breaker = hosts.breaker("a.example".to_owned());
        record_events();
        breaker.force_open();
        let events = recorded_events();
        let opened = events
            .iter()
            .find(|event| event.fields.get("state").map(String::as_str) == Some("open"))
            .expect("an event for the opening");
        assert_eq!(opened.fields["breaker"], "keyed-events");
        assert_eq!(opened.fields["key"], "\"a.example\"");
        assert_eq!(breaker.state(), State::Open);
    }

    #[test]
    fn a_name_keyed_by_two_types_keeps_their_keys_apart() {
        static BY_NAME: KeyedBreakerSlot =
            KeyedBreakerSlot::new("keyed-two-types", BreakerConfig::new(), DEFAULT_MAX_KEYS);
        static BY_ID: KeyedBreakerSlot =
            KeyedBreakerSlot::new("keyed-two-types", BreakerConfig::new(), DEFAULT_MAX_KEYS);
        BY_NAME.breaker("7".to_owned()).force_open();
        assert_eq!(BY_ID.breaker(7_u32).state(), State::Closed);
        // A slot used with another key type than its first still works.
        assert_eq!(BY_NAME.breaker(7_u32).state(), State::Closed);
        let keys: Vec<_> = super::super::registry()
            .keyed_breakers("keyed-two-types")
            .iter()
            .map(|breaker| breaker.key().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["\"7\"", "7"]);
    }

    #[test]
    fn among_closed_breakers_the_least_recently_used_go_first() {
        let hosts = KeyedBreakers::with_max_keys("keyed-lru-closed", BreakerConfig::new(), 16);
        let hot = hosts.breaker("hot".to_owned());
        for i in 0..200 {
            hosts.breaker(format!("cold-{i}"));
            hosts.breaker("hot".to_owned());
            assert!(hosts.key_count() <= 16);
        }
        let kept = hosts.get(&"hot".to_owned()).expect("the busy key is kept");
        assert!(Arc::ptr_eq(&kept, &hot));
        assert!(
            hosts.get(&"cold-198".to_owned()).is_some(),
            "recent keys stay"
        );
        assert!(
            hosts.get(&"cold-0".to_owned()).is_none(),
            "idle keys went first"
        );
    }

    #[test]
    fn when_every_key_is_open_the_least_recently_used_goes() {
        let hosts = KeyedBreakers::with_max_keys("keyed-all-open", BreakerConfig::new(), 4);
        for i in 0..8 {
            hosts.breaker(i).force_open();
        }
        assert!(hosts.key_count() <= 4, "bounded all the same");
        assert!(hosts.get(&7).is_some());
        assert!(hosts.get(&0).is_none());
    }

    #[test]
    fn concurrent_first_calls_of_a_key_share_one_breaker() {
        let hosts = Arc::new(KeyedBreakers::new("keyed-race", BreakerConfig::new()));
        let breakers: Vec<Arc<Breaker>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| hosts.breaker("a.example".to_owned())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(breakers.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    }
}
