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
///
/// Not `Copy`: with feature `redis-tls` it holds certificates and a key
/// (which its `Debug` never prints).
#[derive(Clone, PartialEq, Eq)]
pub struct FleetOptions {
    operation_timeout: Duration,
    refresh_wait: Duration,
    refresh_lease: Duration,
    max_entry_bytes: usize,
    tcp_keepalive: Duration,
    #[cfg(feature = "redis-tls")]
    tls: super::tls::TlsFiles,
}

impl std::fmt::Debug for FleetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut debug = f.debug_struct("FleetOptions");
        debug
            .field("operation_timeout", &self.operation_timeout)
            .field("refresh_wait", &self.refresh_wait)
            .field("refresh_lease", &self.refresh_lease)
            .field("max_entry_bytes", &self.max_entry_bytes)
            .field("tcp_keepalive", &self.tcp_keepalive);
        #[cfg(feature = "redis-tls")]
        debug.field("tls", &self.tls);
        debug.finish()
    }
}

/// The time between keepalive probes once they start.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Unanswered keepalive probes before the kernel gives the connection up.
const KEEPALIVE_RETRIES: u32 = 3;

/// The shortest and longest idle time before keepalive probes (Linux takes
/// 1 to 32767 s; beyond 2 h, the kernel's default, keepalive does nothing
/// the default would not).
const KEEPALIVE_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(7200));

impl Default for FleetOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl FleetOptions {
    /// The defaults: 50 ms per Redis operation, 2 s of waiting for another
    /// instance's refresh under a 10 s lease, entries of at most 1 MiB, TCP
    /// keepalive after 60 s idle (and, with `redis-tls`, the webpki roots
    /// and no client certificate).
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
            tcp_keepalive: Duration::from_secs(60),
            #[cfg(feature = "redis-tls")]
            tls: super::tls::TlsFiles::NONE,
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

    /// How long a fleet connection may sit idle before the kernel sends TCP
    /// keepalive probes (every 10 s after that; the connection is given up
    /// after 3 unanswered, and the next operation reconnects). Default 60 s,
    /// clamped to 1 s ..= 2 h.
    ///
    /// Every connection the fleet opens has `SO_KEEPALIVE` on — the
    /// operations' connection and the breaker news listener's, over
    /// `redis://` and `rediss://` alike — so a NAT, firewall or load
    /// balancer that forgets idle flows (often after 4 to 5 minutes) does
    /// not drop a connection that only looked idle, and a peer that vanished
    /// without a FIN is found while no operation waits on it. Not for Unix
    /// sockets (`redis+unix://`), which have no keepalive.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// # use std::time::Duration;
    /// let options = FleetOptions::new().tcp_keepalive(Duration::from_secs(30));
    /// assert_eq!(options.tcp_keepalive_value(), Duration::from_secs(30));
    /// assert_eq!(FleetOptions::new().tcp_keepalive(Duration::ZERO).tcp_keepalive_value(), Duration::from_secs(1));
    /// ```
    pub const fn tcp_keepalive(mut self, idle: Duration) -> Self {
        let (shortest, longest) = KEEPALIVE_RANGE;
        self.tcp_keepalive = if idle.as_secs() < shortest.as_secs() {
            shortest
        } else if idle.as_secs() > longest.as_secs() {
            longest
        } else {
            Duration::from_secs(idle.as_secs())
        };
        self
    }

    /// See [`tcp_keepalive`](Self::tcp_keepalive).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().tcp_keepalive_value().as_secs(), 60);
    /// ```
    pub const fn tcp_keepalive_value(&self) -> Duration {
        self.tcp_keepalive
    }

    /// The TCP settings of every fleet connection: keepalive as set, probes
    /// every 10 s, 3 of them (`TCP_NODELAY` as redis-rs's default: off).
    pub(crate) fn tcp_settings(&self) -> redis::io::tcp::TcpSettings {
        redis::io::tcp::TcpSettings::default().set_keepalive(self.keepalive())
    }

    /// The keepalive of [`tcp_settings`](Self::tcp_settings); the
    /// listener's own socket reads it back from the client's settings.
    fn keepalive(&self) -> redis::io::tcp::socket2::TcpKeepalive {
        let keepalive = redis::io::tcp::socket2::TcpKeepalive::new().with_time(self.tcp_keepalive);
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "windows",
        ))]
        let keepalive = keepalive
            .with_interval(KEEPALIVE_INTERVAL)
            .with_retries(KEEPALIVE_RETRIES);
        keepalive
    }

    /// (Feature `redis-tls`.) Trusts the CA certificate(s) in `pem` — PEM
    /// text, one or more `-----BEGIN CERTIFICATE-----` blocks — instead of
    /// the webpki roots, for a `rediss://` server whose certificate a
    /// private CA signed (the file redis-server's `tls-ca-cert-file` names,
    /// or your cloud's Redis CA bundle). The server's certificate must then
    /// chain to one of these, and name the URL's host (an IP address in the
    /// URL needs that IP in the certificate's subject alternative names).
    ///
    /// A second call replaces the first. Checked by `connect`: PEM that
    /// holds no certificate, or a malformed one, is a
    /// [`FleetError::Tls`](super::FleetError::Tls) that says what to give.
    ///
    /// ```no_run
    /// use resilience_runtime::fleet::{self, FleetOptions};
    ///
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = FleetOptions::new().tls_root_certificate(std::fs::read("/etc/redis/ca.crt")?);
    /// fleet::connect_with("rediss://redis.internal:6380", "profile-service", options).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.root = Some(pem.into());
        self
    }

    /// (Feature `redis-tls`.) Presents a client certificate (mutual TLS),
    /// for a server started with `tls-auth-clients yes` (or `optional`):
    /// `certificate_pem` is the client's certificate as PEM text, first,
    /// followed by any intermediates; `key_pem` its private key as PEM
    /// (PKCS#8 `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`,
    /// unencrypted). Without it, a server that requires client
    /// certificates refuses the fleet: an unreachable Redis, local-only.
    ///
    /// A second call replaces the first. Checked by `connect`: a PEM that
    /// holds no certificate or no key, or a key that is not the
    /// certificate's, is a [`FleetError::Tls`](super::FleetError::Tls)
    /// that says what to give. `Debug` never prints the key.
    ///
    /// ```no_run
    /// use resilience_runtime::fleet::{self, FleetOptions};
    ///
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = FleetOptions::new()
    ///     .tls_root_certificate(std::fs::read("/etc/redis/ca.crt")?)
    ///     .tls_client_identity(
    ///         std::fs::read("/etc/redis/client.crt")?,
    ///         std::fs::read("/etc/redis/client.key")?,
    ///     );
    /// fleet::connect_with("rediss://redis.internal:6380", "profile-service", options).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_client_identity(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.identity = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// (Feature `redis-tls`.) See
    /// [`tls_root_certificate`](Self::tls_root_certificate): the PEM given,
    /// if any.
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().tls_root_certificate_value(), None);
    /// let pem = b"-----BEGIN CERTIFICATE-----\n...".to_vec();
    /// let options = FleetOptions::new().tls_root_certificate(pem.clone());
    /// assert_eq!(options.tls_root_certificate_value(), Some(&pem[..]));
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_certificate_value(&self) -> Option<&[u8]> {
        self.tls.root.as_deref()
    }

    /// (Feature `redis-tls`.) See
    /// [`tls_client_identity`](Self::tls_client_identity): the client
    /// certificate PEM given, if any (its key is not handed out).
    ///
    /// ```
    /// # use resilience_runtime::fleet::FleetOptions;
    /// assert_eq!(FleetOptions::new().tls_client_certificate_value(), None);
    /// let options = FleetOptions::new().tls_client_identity(b"cert".to_vec(), b"key".to_vec());
    /// assert_eq!(options.tls_client_certificate_value(), Some(&b"cert"[..]));
    /// assert!(format!("{options:?}").contains(r#"client_identity: Some("<redacted>")"#));
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_client_certificate_value(&self) -> Option<&[u8]> {
        self.tls.identity.as_ref().map(|(chain, _)| &chain[..])
    }

    #[cfg(feature = "redis-tls")]
    pub(crate) fn tls_files(&self) -> &super::tls::TlsFiles {
        &self.tls
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
