//! [`BulkheadConfig`]: how many calls run at once, and how long a further
//! one waits for a slot.

use std::time::Duration;

/// How many calls of a bulkhead run at once, and how long a further call
/// waits for a slot. What `#[bulkhead(...)]` builds from its keys, as a
/// `static`; plain data with `const` builders.
///
/// | builder | meaning | default |
/// | --- | --- | --- |
/// | [`new(n)`](Self::new) | at most `n` calls at once (`max_concurrent`) | — |
/// | [`max_wait`](Self::max_wait) | how long a further call waits for a slot | 0: never waits |
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::bulkhead::BulkheadConfig;
///
/// const SEARCH: BulkheadConfig = BulkheadConfig::new(10).max_wait(Duration::from_millis(50));
/// assert_eq!(SEARCH.max_concurrent_value(), 10);
/// assert_eq!(SEARCH.max_wait_value(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkheadConfig {
    max_concurrent: u32,
    max_wait: Duration,
}

impl BulkheadConfig {
    /// At most `max_concurrent` calls at once (0 is treated as 1), and no
    /// wait for a slot.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::BulkheadConfig;
    /// assert_eq!(BulkheadConfig::new(0).max_concurrent_value(), 1);
    /// ```
    pub const fn new(max_concurrent: u32) -> Self {
        Self {
            max_concurrent: if max_concurrent == 0 {
                1
            } else {
                max_concurrent
            },
            max_wait: Duration::ZERO,
        }
    }

    /// How long a call that finds every slot taken waits for one before it
    /// is turned away with [`BulkheadFull`](crate::BulkheadFull); zero
    /// turns it away at once.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::BulkheadConfig;
    /// # use std::time::Duration;
    /// let config = BulkheadConfig::new(4).max_wait(Duration::from_millis(20));
    /// assert_eq!(config.max_wait_value(), Duration::from_millis(20));
    /// ```
    pub const fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Calls allowed at once.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::BulkheadConfig;
    /// assert_eq!(BulkheadConfig::new(4).max_concurrent_value(), 4);
    /// ```
    pub const fn max_concurrent_value(&self) -> u32 {
        self.max_concurrent
    }

    /// How long a further call waits for a slot.
    ///
    /// ```
    /// # use resilience_runtime::bulkhead::BulkheadConfig;
    /// # use std::time::Duration;
    /// assert_eq!(BulkheadConfig::new(4).max_wait_value(), Duration::ZERO);
    /// ```
    pub const fn max_wait_value(&self) -> Duration {
        self.max_wait
    }
}
