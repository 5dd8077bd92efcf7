//! `#[bulkhead]`: at most `max_concurrent` calls of a function (or of every
//! function sharing a bulkhead's `name`) run at once; a further call waits
//! up to `max_wait` for a slot, else returns `E::from(BulkheadFull)`
//! without running. So a slow dependency holds a bounded share of the
//! service's threads, connections and memory, not all of them.
//!
//! ```
//! use resilience_runtime::{BulkheadFull, bulkhead};
//!
//! #[derive(Debug)]
//! enum ApiError { Busy, Down }
//! impl From<BulkheadFull> for ApiError {
//!     fn from(_: BulkheadFull) -> Self { ApiError::Busy }
//! }
//!
//! #[bulkhead(max_concurrent = 10, max_wait = "50ms")]
//! async fn search(query: String) -> Result<Vec<String>, ApiError> {
//!     Ok(vec![query])
//! }
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! assert_eq!(search("rust".into()).await.unwrap(), ["rust"]);
//! # let _ = ApiError::Down;
//! # }
//! ```
//!
//! A slot is held from the call's start to its end, and given back when
//! the call returns, panics, or its future is dropped. Taking and giving
//! back a slot is two atomic operations on one counter; waiting is off
//! that path.
//!
//! Every bulkhead is registered by name: the `name` given, else the
//! decorated function's `module::path::name`. The first function to use a
//! name fixes its configuration; another with a different one gets that
//! bulkhead, with a warning event once.

use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::Mutex;

mod config;
mod full;
mod limiter;

pub use config::BulkheadConfig;
pub use full::BulkheadFull;
pub use limiter::{Bulkhead, BulkheadPermit};

/// Every registered bulkhead, by name.
fn bulkheads() -> &'static Mutex<HashMap<&'static str, &'static Bulkhead>> {
    static BULKHEADS: OnceLock<Mutex<HashMap<&'static str, &'static Bulkhead>>> = OnceLock::new();
    BULKHEADS.get_or_init(Default::default)
}

/// The bulkhead registered as `name`, if any.
///
/// ```
/// use resilience_runtime::bulkhead::{self, BulkheadConfig, BulkheadSlot};
///
/// static SLOT: BulkheadSlot = BulkheadSlot::new("thumbnails", BulkheadConfig::new(8));
/// let _ = SLOT.bulkhead(); // registers "thumbnails"
/// assert_eq!(bulkhead::get("thumbnails").unwrap().config().max_concurrent_value(), 8);
/// assert!(bulkhead::get("nothing-here").is_none());
/// ```
pub fn get(name: &str) -> Option<&'static Bulkhead> {
    bulkheads().lock().get(name).copied()
}

/// Every registered bulkhead, for a status page or a test.
///
/// ```
/// use resilience_runtime::bulkhead::{self, BulkheadConfig, BulkheadSlot};
///
/// static SLOT: BulkheadSlot = BulkheadSlot::new("listed", BulkheadConfig::new(2));
/// let _ = SLOT.bulkhead();
/// assert!(bulkhead::all().iter().any(|b| b.name() == "listed"));
/// ```
pub fn all() -> Vec<&'static Bulkhead> {
    bulkheads().lock().values().copied().collect()
}

/// The bulkhead `name`, registered with `config` when it is new.
fn get_or_register(name: &'static str, config: BulkheadConfig) -> &'static Bulkhead {
    let mut bulkheads = bulkheads().lock();
    let bulkhead = *bulkheads
        .entry(name)
        .or_insert_with(|| Box::leak(Box::new(Bulkhead::new(name, config))));
    if *bulkhead.config() != config {
        tracing::warn!(
            target: "resilience", bulkhead = name,
            max_concurrent = bulkhead.config().max_concurrent_value(),
            "bulkhead `{name}` is used with two configurations: the first registered holds; give both uses the same keys, or different names"
        );
    }
    bulkhead
}

/// A registered bulkhead behind a `static`: what `#[bulkhead]` puts in
/// each decorated function. The first call looks the name up (registering
/// it with this slot's configuration when it is new); every later call is
/// one atomic load.
///
/// ```
/// use resilience_runtime::bulkhead::{BulkheadConfig, BulkheadSlot};
///
/// static REPORTS: BulkheadSlot = BulkheadSlot::new("reports", BulkheadConfig::new(2));
/// let running = REPORTS.bulkhead().try_acquire().unwrap();
/// assert_eq!(REPORTS.bulkhead().inflight(), 1);
/// # drop(running);
/// ```
#[derive(Debug)]
pub struct BulkheadSlot {
    name: &'static str,
    config: BulkheadConfig,
    bulkhead: OnceLock<&'static Bulkhead>,
}

impl BulkheadSlot {
    /// A slot for the bulkhead `name`, to register with `config` unless the
    /// name is registered already.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{BulkheadConfig, BulkheadSlot};
    /// static SLOT: BulkheadSlot = BulkheadSlot::new("avatars", BulkheadConfig::new(3));
    /// assert_eq!(SLOT.bulkhead().name(), "avatars");
    /// ```
    pub const fn new(name: &'static str, config: BulkheadConfig) -> Self {
        Self {
            name,
            config,
            bulkhead: OnceLock::new(),
        }
    }

    /// The registered bulkhead of this slot's name.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::{BulkheadConfig, BulkheadSlot};
    /// static SLOT: BulkheadSlot = BulkheadSlot::new("banners", BulkheadConfig::new(1));
    /// assert!(std::ptr::eq(SLOT.bulkhead(), SLOT.bulkhead()));
    /// ```
    #[inline]
    pub fn bulkhead(&self) -> &'static Bulkhead {
        match self.bulkhead.get() {
            Some(bulkhead) => bulkhead,
            None => self.register(),
        }
    }

    #[cold]
    #[inline(never)]
    fn register(&self) -> &'static Bulkhead {
        self.bulkhead
            .get_or_init(|| get_or_register(self.name, self.config))
    }
}

#[cfg(test)]
mod tests;
