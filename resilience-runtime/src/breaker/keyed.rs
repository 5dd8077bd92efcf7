//! Keyed breakers: one breaker per key under one name (per host, per
//! tenant), in a bounded map.

use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};

use moka::policy::EvictionPolicy;

use super::tally::CallTally;
use super::{Breaker, BreakerConfig};

/// How many keys a keyed breaker keeps by default. Past it, the key used
/// least recently is dropped first.
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
/// bounded map ([`moka`](https://docs.rs/moka) with a least-recently-used
/// policy): at most [`DEFAULT_MAX_KEYS`] keys by default, and past that the
/// key whose breaker was used least recently goes first, so a million
/// distinct keys never grow memory without bound. A key that comes back
/// after being dropped starts closed, with an empty window.
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
    breakers: moka::sync::Cache<K, Arc<Breaker>>,
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
            breakers: moka::sync::Cache::builder()
                .max_capacity(max_keys)
                .eviction_policy(EvictionPolicy::lru())
                .build(),
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
    pub fn breaker(&self, key: K) -> Arc<Breaker> {
        if let Some(breaker) = self.breakers.get(&key) {
            return breaker;
        }
        self.insert(key)
    }

    #[cold]
    #[inline(never)]
    fn insert(&self, key: K) -> Arc<Breaker> {
        let text = format!("{key:?}").into_boxed_str();
        let calls = self.calls.get_or_init(|| CallTally::register(self.name));
        self.breakers.get_with(key, || {
            Arc::new(Breaker::keyed(self.name, self.config, text, calls.clone()))
        })
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
        self.breakers.get(key)
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
            .iter()
            .map(|(key, breaker)| (K::clone(&key), breaker))
            .collect()
    }

    /// How many keys are kept now. Evictions are applied first, so this is
    /// never above [`max_keys`](Self::max_keys).
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
        self.breakers.run_pending_tasks();
        self.breakers.entry_count()
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
