//! [`KeyedBreakerSlot`]: the keyed breakers of a `#[breaker(key = ..)]`
//! behind a `static`.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use super::{BreakerKey, KeyedBreakers};
use crate::breaker::{Breaker, BreakerConfig};

/// The keyed breakers of a `#[breaker(key = ..)]` in a `static`,
/// registered under its name on first use. Only the key type is generic, so
/// the slot stores the breakers untyped and checks the type on each call
/// (one comparison).
///
/// ```
/// use resilience_runtime::breaker::{BreakerConfig, KeyedBreakerSlot, DEFAULT_MAX_KEYS};
///
/// static HOSTS: KeyedBreakerSlot = KeyedBreakerSlot::new("edge-hosts", BreakerConfig::new(), DEFAULT_MAX_KEYS);
///
/// let breaker = HOSTS.breaker("a.example".to_owned());
/// assert_eq!((breaker.name(), breaker.key()), ("edge-hosts", Some("\"a.example\"")));
/// ```
#[derive(Debug)]
pub struct KeyedBreakerSlot {
    name: &'static str,
    config: BreakerConfig,
    max_keys: u64,
    keyed: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl KeyedBreakerSlot {
    /// A slot for the keyed breakers `name`, to register with `config` and
    /// `max_keys` unless the name is registered already.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakerSlot};
    /// static SLOT: KeyedBreakerSlot = KeyedBreakerSlot::new("shards", BreakerConfig::new(), 64);
    /// # let _ = SLOT.breaker(1_u16);
    /// ```
    pub const fn new(name: &'static str, config: BreakerConfig, max_keys: u64) -> Self {
        Self {
            name,
            config,
            max_keys,
            keyed: OnceLock::new(),
        }
    }

    /// The breaker of `key`, made if the key has none.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, KeyedBreakerSlot, State, DEFAULT_MAX_KEYS};
    /// static SLOT: KeyedBreakerSlot = KeyedBreakerSlot::new("queues", BreakerConfig::new(), DEFAULT_MAX_KEYS);
    /// assert_eq!(SLOT.breaker(7_u32).state(), State::Closed);
    /// ```
    #[inline]
    pub fn breaker<K: BreakerKey>(&self, key: K) -> Arc<Breaker> {
        match self
            .keyed
            .get()
            .and_then(|keyed| keyed.downcast_ref::<KeyedBreakers<K>>())
        {
            Some(keyed) => keyed.breaker(key),
            None => self.register::<K>().breaker(key),
        }
    }

    /// The registered breakers of this name and key type; kept in the slot
    /// for the first key type it sees (a generic function keyed by a type
    /// parameter looks the others up in the registry).
    #[cold]
    #[inline(never)]
    fn register<K: BreakerKey>(&self) -> Arc<KeyedBreakers<K>> {
        let keyed = crate::breaker::registry().get_or_register_keyed::<K>(
            self.name,
            self.config,
            self.max_keys,
        );
        let _ = self
            .keyed
            .set(Arc::clone(&keyed) as Arc<dyn Any + Send + Sync>);
        keyed
    }
}
