//! [`BreakerSlot`]: a registered breaker behind a `static`.

use std::sync::{Arc, OnceLock};

use super::{Breaker, BreakerConfig, registry};

/// A breaker in a `static`, registered under its name on first use.
///
/// `#[breaker]` puts one in each decorated function. The first call looks
/// the name up in the [`registry`](super::registry()) (registering it with
/// this slot's configuration when it is new); every later call is one atomic
/// load.
///
/// ```
/// use resilience_runtime::breaker::{BreakerConfig, BreakerSlot, State};
///
/// static BREAKER: BreakerSlot = BreakerSlot::new("thumbnails", BreakerConfig::new().min_calls(5));
///
/// let breaker = BREAKER.breaker();
/// assert_eq!(breaker.name(), "thumbnails");
/// assert_eq!(breaker.state(), State::Closed);
/// ```
#[derive(Debug)]
pub struct BreakerSlot {
    name: &'static str,
    config: BreakerConfig,
    breaker: OnceLock<Arc<Breaker>>,
}

impl BreakerSlot {
    /// A slot for the breaker `name`, to register with `config` unless the
    /// name is registered already.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{BreakerConfig, BreakerSlot};
    /// static SLOT: BreakerSlot = BreakerSlot::new("avatars", BreakerConfig::new());
    /// assert_eq!(SLOT.breaker().config(), &BreakerConfig::new());
    /// ```
    pub const fn new(name: &'static str, config: BreakerConfig) -> Self {
        Self {
            name,
            config,
            breaker: OnceLock::new(),
        }
    }

    /// The registered breaker of this slot's name.
    ///
    /// ```
    /// # use resilience_runtime::breaker::{registry, BreakerConfig, BreakerSlot};
    /// static SLOT: BreakerSlot = BreakerSlot::new("banners", BreakerConfig::new());
    /// let breaker = SLOT.breaker(); // registers "banners"
    /// assert!(std::ptr::eq(breaker, &*registry().get("banners").unwrap()));
    /// ```
    #[inline]
    pub fn breaker(&self) -> &Breaker {
        match self.breaker.get() {
            Some(breaker) => breaker,
            None => self.register(),
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&self) -> &Breaker {
        self.breaker
            .get_or_init(|| registry().get_or_register(self.name, self.config))
    }
}
