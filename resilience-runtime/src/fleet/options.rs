//! [`FleetOptions`]: the bounds of the fleet tier.

use std::time::Duration;

/// The bounds the fleet tier works within. [`FleetOptions::new`] gives the
/// defaults that [`connect`](super::connect) uses.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::fleet::FleetOptions;
///
/// let options = FleetOptions::new().operation_timeout(Duration::from_millis(20));
/// assert_eq!(options.operation_timeout_value(), Duration::from_millis(20));
/// assert_eq!(FleetOptions::new().operation_timeout_value(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetOptions {
    operation_timeout: Duration,
    refresh_wait: Duration,
    refresh_lease: Duration,
    max_entry_bytes: usize,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl FleetOptions {
    /// The defaults: 50 ms per Redis operation, 2 s of waiting for another
    /// instance's refresh under a 10 s lease, entries of at most 1 MiB.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().max_entry_bytes_value(), 1 << 20);
    /// ```
    pub const fn new() -> Self {
        Self {
            operation_timeout: Duration::from_millis(50),
            refresh_wait: Duration::from_secs(2),
            refresh_lease: Duration::from_secs(10),
            max_entry_bytes: 1 << 20,
        }
    }

    /// The longest a call waits on one Redis operation; past it the call
    /// goes on with local state and the fleet counts an error. Measured on
    /// real time, on the fleet's own thread.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// # use std::time::Duration;
    /// let options = FleetOptions::new().operation_timeout(Duration::from_millis(10));
    /// assert_eq!(options.operation_timeout_value(), Duration::from_millis(10));
    /// ```
    pub const fn operation_timeout(mut self, bound: Duration) -> Self {
        self.operation_timeout = bound;
        self
    }

    /// How long an instance that finds another refreshing a key waits for
    /// its value before it serves its stale value or calls the upstream
    /// itself.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// # use std::time::Duration;
    /// let options = FleetOptions::new().refresh_wait(Duration::from_millis(500));
    /// assert_eq!(options.refresh_wait_value(), Duration::from_millis(500));
    /// ```
    pub const fn refresh_wait(mut self, wait: Duration) -> Self {
        self.refresh_wait = wait;
        self
    }

    /// The time to live of a refresh lease: the longest one instance holds
    /// a key's refresh if it dies while refreshing. A refresh that ends
    /// gives its lease back at once, and so does one whose caller gave up
    /// (its future dropped: a request timeout, a client gone).
    ///
    /// The lease is not renewed. A load that takes longer than the lease
    /// loses it when it expires: another instance that misses the key then
    /// may refresh it too, so the upstream sees two loads of that key at
    /// once, and both successes are written (the later write wins; neither
    /// is wrong, both are loads). Set it above the slowest load you expect.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// # use std::time::Duration;
    /// let options = FleetOptions::new().refresh_lease(Duration::from_secs(3));
    /// assert_eq!(options.refresh_lease_value(), Duration::from_secs(3));
    /// ```
    pub const fn refresh_lease(mut self, lease: Duration) -> Self {
        self.refresh_lease = lease;
        self
    }

    /// The largest entry read back from Redis; a larger one is a miss
    /// (counted), and a larger value is not written.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().max_entry_bytes(4096).max_entry_bytes_value(), 4096);
    /// ```
    pub const fn max_entry_bytes(mut self, bytes: usize) -> Self {
        self.max_entry_bytes = bytes;
        self
    }

    /// See [`operation_timeout`](Self::operation_timeout).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().operation_timeout_value().as_millis(), 50);
    /// ```
    pub const fn operation_timeout_value(&self) -> Duration {
        self.operation_timeout
    }

    /// See [`refresh_wait`](Self::refresh_wait).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().refresh_wait_value().as_secs(), 2);
    /// ```
    pub const fn refresh_wait_value(&self) -> Duration {
        self.refresh_wait
    }

    /// See [`refresh_lease`](Self::refresh_lease).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().refresh_lease_value().as_secs(), 10);
    /// ```
    pub const fn refresh_lease_value(&self) -> Duration {
        self.refresh_lease
    }

    /// See [`max_entry_bytes`](Self::max_entry_bytes).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().max_entry_bytes_value(), 1 << 20);
    /// ```
    pub const fn max_entry_bytes_value(&self) -> usize {
        self.max_entry_bytes
    }
}
