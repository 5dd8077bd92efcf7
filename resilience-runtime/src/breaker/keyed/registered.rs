//! Keyed names in the [`Registry`]: by name and key type, listed apart
//! from the breakers without a key.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::{BreakerKey, KeyedBreakers};
use crate::breaker::{Breaker, BreakerConfig, Registry};

/// A [`KeyedBreakers`] of any key type, for the registry's listing.
trait AnyKeyed: Send + Sync {
    fn breakers(&self) -> Vec<Arc<Breaker>>;
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<K: BreakerKey> AnyKeyed for KeyedBreakers<K> {
    fn breakers(&self) -> Vec<Arc<Breaker>> {
        self.breakers.pin().values().cloned().collect()
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Every keyed name, by name and key type: two functions that key one name
/// by different types keep their keys apart.
type Keyed = RwLock<BTreeMap<(&'static str, TypeId), Arc<dyn AnyKeyed>>>;

static KEYED: Keyed = RwLock::new(BTreeMap::new());

/// Keyed breakers. A keyed name and a name without a key are kept apart:
/// [`get`](Registry::get) and [`breakers`](Registry::breakers) list only
/// breakers without a key.
impl Registry {
    /// The keyed breakers of `name` whose keys are of type `K`, registered
    /// with `config` and `max_keys` first when there are none. A name
    /// registered before with another configuration keeps the first, with a
    /// warning event, as [`get_or_register`](Registry::get_or_register) does.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, DEFAULT_MAX_KEYS};
    ///
    /// let hosts = registry().get_or_register_keyed::<String>("cdn-hosts", BreakerConfig::new(), DEFAULT_MAX_KEYS);
    /// hosts.breaker("a.example".to_owned()).force_open();
    /// let again = registry().keyed::<String>("cdn-hosts").unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&hosts, &again));
    /// ```
    pub fn get_or_register_keyed<K: BreakerKey>(
        &self,
        name: &'static str,
        config: BreakerConfig,
        max_keys: u64,
    ) -> Arc<KeyedBreakers<K>> {
        let keyed = match self.keyed::<K>(name) {
            Some(keyed) => keyed,
            None => {
                let mut all = KEYED.write().unwrap_or_else(PoisonError::into_inner);
                let entry = all.entry((name, TypeId::of::<K>())).or_insert_with(|| {
                    Arc::new(KeyedBreakers::<K>::with_max_keys(name, config, max_keys))
                });
                downcast(Arc::clone(entry)).unwrap_or_else(|| {
                    // Unreachable: the entry of `TypeId::of::<K>()` holds `K` keys.
                    Arc::new(KeyedBreakers::with_max_keys(name, config, max_keys))
                })
            }
        };
        if keyed.config != config || keyed.max_keys != max_keys.max(1) {
            tracing::warn!(
                target: "resilience",
                breaker = name,
                "keyed circuit breaker `{name}` is registered again with another configuration; \
                 the first is kept: {:?}, max_keys {}; ignored: {config:?}, max_keys {max_keys}",
                keyed.config, keyed.max_keys,
            );
        }
        keyed
    }

    /// The keyed breakers of `name` whose keys are of type `K`, if any.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, DEFAULT_MAX_KEYS};
    ///
    /// assert!(registry().keyed::<String>("regions").is_none());
    /// registry().get_or_register_keyed::<String>("regions", BreakerConfig::new(), DEFAULT_MAX_KEYS);
    /// assert!(registry().keyed::<String>("regions").is_some());
    /// assert!(registry().keyed::<u32>("regions").is_none()); // keyed by `String`
    /// ```
    pub fn keyed<K: BreakerKey>(&self, name: &str) -> Option<Arc<KeyedBreakers<K>>> {
        let all = KEYED.read().unwrap_or_else(PoisonError::into_inner);
        let (_, keyed) = all
            .range((name, TypeId::of::<K>())..=(name, TypeId::of::<K>()))
            .next()?;
        downcast(Arc::clone(keyed))
    }

    /// Every key's breaker of the keyed name `name`, whatever the key type,
    /// ordered by key: each with its [`key`](Breaker::key), state and
    /// counts, and `reset` / `force_open`.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, State, DEFAULT_MAX_KEYS};
    ///
    /// let hosts = registry().get_or_register_keyed::<String>("api-hosts", BreakerConfig::new(), DEFAULT_MAX_KEYS);
    /// hosts.breaker("b.example".to_owned());
    /// hosts.breaker("a.example".to_owned()).force_open();
    /// for breaker in registry().keyed_breakers("api-hosts") {
    ///     println!("{} {}: {}", breaker.name(), breaker.key().unwrap(), breaker.state());
    /// }
    /// let states: Vec<_> = registry()
    ///     .keyed_breakers("api-hosts")
    ///     .iter()
    ///     .map(|b| (b.key().unwrap().to_owned(), b.state()))
    ///     .collect();
    /// assert_eq!(states, [
    ///     ("\"a.example\"".to_owned(), State::Open),
    ///     ("\"b.example\"".to_owned(), State::Closed),
    /// ]);
    /// ```
    pub fn keyed_breakers(&self, name: &str) -> Vec<Arc<Breaker>> {
        let all = KEYED.read().unwrap_or_else(PoisonError::into_inner);
        let mut breakers: Vec<Arc<Breaker>> = all
            .iter()
            .filter(|((registered, _), _)| *registered == name)
            .flat_map(|(_, keyed)| keyed.breakers())
            .collect();
        drop(all);
        breakers.sort_by(|a, b| a.key().cmp(&b.key()));
        breakers
    }

    /// The names that have keyed breakers.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, DEFAULT_MAX_KEYS};
    ///
    /// registry().get_or_register_keyed::<u64>("tenant-db", BreakerConfig::new(), DEFAULT_MAX_KEYS);
    /// assert!(registry().keyed_names().contains(&"tenant-db"));
    /// ```
    pub fn keyed_names(&self) -> Vec<&'static str> {
        let all = KEYED.read().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<&'static str> = all.keys().map(|(name, _)| *name).collect();
        names.dedup();
        names
    }
}

fn downcast<K: BreakerKey>(keyed: Arc<dyn AnyKeyed>) -> Option<Arc<KeyedBreakers<K>>> {
    keyed.as_any().downcast::<KeyedBreakers<K>>().ok()
}
