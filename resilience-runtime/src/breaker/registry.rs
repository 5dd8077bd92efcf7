//! The process-wide registry: one breaker per name.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use super::events::Listeners;
use super::{Breaker, BreakerConfig, StateChange};

/// Every breaker of the process, by name. Get it with [`registry()`].
///
/// Breakers of the same name share one state process-wide, whichever
/// functions, modules or crates use them. A breaker is never removed: names
/// are `&'static str`, and a name made at run time is leaked on purpose
/// (`String::leak`), as the breaker it names lives as long as the process.
///
/// ```
/// use resilience_runtime::breaker::{registry, BreakerConfig, State};
///
/// let breaker = registry().get_or_register("ledger", BreakerConfig::new());
/// breaker.force_open();
/// assert_eq!(registry().get("ledger").unwrap().state(), State::Open);
/// assert!(registry().breakers().iter().any(|b| b.name() == "ledger"));
/// ```
#[derive(Debug)]
pub struct Registry {
    breakers: RwLock<BTreeMap<&'static str, Arc<Breaker>>>,
    pub(super) listeners: Listeners,
}

static REGISTRY: Registry = Registry {
    breakers: RwLock::new(BTreeMap::new()),
    listeners: Listeners::new(),
};

/// The process-wide [`Registry`].
///
/// ```
/// use resilience_runtime::breaker::registry;
/// assert!(registry().get("no such breaker").is_none());
/// ```
pub fn registry() -> &'static Registry {
    &REGISTRY
}

impl Registry {
    /// The breaker registered under `name`, if any.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig};
    /// registry().get_or_register("profile-service", BreakerConfig::new());
    /// assert_eq!(registry().get("profile-service").unwrap().name(), "profile-service");
    /// ```
    pub fn get(&self, name: &str) -> Option<Arc<Breaker>> {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        breakers.get(name).cloned()
    }

    /// The breaker registered under `name`, registered with `config` first
    /// when there is none.
    ///
    /// A name registered before with a *different* configuration keeps the
    /// first one, and this emits a warning event (target `resilience`) that
    /// names the breaker and both configurations. It is a run-time warning
    /// rather than a compile error because two functions in different crates
    /// may share a breaker name, and no single macro expansion sees both.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig};
    ///
    /// let first = registry().get_or_register("quotes", BreakerConfig::new().min_calls(5));
    /// let again = registry().get_or_register("quotes", BreakerConfig::new().min_calls(9));
    /// assert!(std::sync::Arc::ptr_eq(&first, &again));
    /// assert_eq!(again.config().min_calls_value(), 5); // the first one wins
    /// ```
    pub fn get_or_register(&self, name: &'static str, config: BreakerConfig) -> Arc<Breaker> {
        let breaker = match self.get(name) {
            Some(breaker) => breaker,
            None => {
                let mut breakers = self
                    .breakers
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                let entry = breakers.entry(name);
                let mut created = false;
                let breaker = Arc::clone(entry.or_insert_with(|| {
                    created = true;
                    Arc::new(Breaker::registered(name, config))
                }));
                drop(breakers);
                #[cfg(feature = "redis")]
                if created
                    && config.shared_value()
                    && let Some(fleet) = crate::fleet::for_shared(name)
                {
                    breaker.share_on(fleet);
                }
                let _ = created;
                breaker
            }
        };
        let kept = breaker.config();
        if *kept != config {
            tracing::warn!(
                target: "resilience",
                breaker = name,
                "circuit breaker `{name}` is registered again with another configuration; \
                 the first is kept: {kept:?}; ignored: {config:?}"
            );
        }
        breaker
    }

    /// Every registered breaker, by name.
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, State};
    ///
    /// registry().get_or_register("search", BreakerConfig::new());
    /// for breaker in registry().breakers() {
    ///     println!("{}: {}", breaker.name(), breaker.state());
    /// }
    /// ```
    pub fn breakers(&self) -> Vec<Arc<Breaker>> {
        let breakers = self.breakers.read().unwrap_or_else(PoisonError::into_inner);
        breakers.values().cloned().collect()
    }

    /// Calls `listener` on every state change of every registered breaker,
    /// after that breaker's own listeners (see
    /// [`Breaker::on_state_change`]).
    ///
    /// ```
    /// use resilience_runtime::breaker::{registry, BreakerConfig, State};
    ///
    /// registry().on_state_change(|change| {
    ///     if change.to == State::Open {
    ///         eprintln!("{} opened", change.name);
    ///     }
    /// });
    /// registry().get_or_register("fx-rates", BreakerConfig::new()).force_open();
    /// ```
    pub fn on_state_change(&self, listener: impl Fn(&StateChange) + Send + Sync + 'static) {
        self.listeners.add(listener);
    }
}
