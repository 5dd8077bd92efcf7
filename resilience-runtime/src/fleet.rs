//! The fleet tier (feature `redis`): replicas share stale data and breaker
//! state over Redis.
//!
//! Connect once at start-up; then `#[stale_cache(shared = true)]` and
//! `#[breaker(shared = true)]` share through it:
//!
//! ```no_run
//! # async fn start() -> Result<(), resilience_runtime::fleet::FleetError> {
//! resilience_runtime::fleet::connect("redis://127.0.0.1:6379", "profile-service").await?;
//! # Ok(()) }
//! ```
//!
//! The URL is redis-rs's: `redis://[user][:password@]host[:port][/db]`,
//! `rediss://` for TLS (feature `redis-tls`; a private CA and client
//! certificates in its section, TLS, of docs built with it), with AUTH
//! from the user and password in it. The namespace separates services (and
//! test runs) that share one Redis: every key is `resilience:{namespace}:…`.
//!
#![cfg_attr(feature = "redis-tls", doc = include_str!("fleet/tls.md"))]
//!
//! # TCP keepalive
//!
//! Every connection the fleet opens has TCP keepalive on (after
//! [`FleetOptions::tcp_keepalive`] idle, 60 s by default, then a probe
//! every 10 s, given up after 3 unanswered), over `redis://` and
//! `rediss://` alike: a NAT, firewall or load balancer that forgets idle
//! flows does not drop a connection that only looked idle, and a server
//! that vanished without a FIN is noticed while the connection idles. It
//! is redis-rs's `TcpSettings` on the client, and the same keepalive on the
//! socket of the listener, which the fleet connects itself over `redis://`.
//!
//! # What is shared, and what it costs
//!
//! - **Stale cache**: moka stays the first tier, Redis is the second. A
//!   fresh local hit touches no Redis. A local miss or expiry reads Redis
//!   (within the one in-process flight per key): an entry younger than
//!   `maxage` is served and kept locally *with its original age*. An
//!   async caller on a tokio runtime reads it over a connection of its own
//!   thread, driven by its own runtime (made in the background on the
//!   thread's first miss: count one Redis connection per runtime thread
//!   that misses, beside the fleet's two), so the read costs what a bare redis-rs `GET`
//!   does, with no hand-over to the fleet thread (leases, writes and a
//!   sync caller's reads run on that thread). Otherwise
//!   one instance across the fleet refreshes the key at a time (a lease);
//!   the others wait for its value at most [`FleetOptions::refresh_wait`],
//!   then serve their stale value or call the upstream themselves. A
//!   success is written with a time to live of `tolerance`; nothing else
//!   is ever written. The lease is given back when the refresh ends or its
//!   caller gives up (the future dropped), and is not renewed: a load
//!   longer than [`FleetOptions::refresh_lease`] may run twice across the
//!   fleet. A failed
//!   refresh serves the freshest value within `tolerance` found locally or
//!   in Redis — so a replica restarted during an outage serves what another
//!   replica (or its previous life) loaded.
//! - **Breaker**: each instance keeps its own window and its closed path
//!   makes no Redis call. An instance whose breaker opens votes: one script
//!   adds its id to the breaker's votes (a sorted set dated by Redis's
//!   clock, kept `open_for`) and counts those of the last `open_for`. The
//!   vote that reaches the breaker's [quorum](crate::breaker::BreakerConfig::quorum)
//!   (2 by default; with 1, every opening) publishes "open
//!   until T" (a key with a time to live of `open_for`, and a pub/sub
//!   message); every instance with that breaker name opens until T, within
//!   a second, with a fleet cause — for at most its own `open_for` from
//!   when it heard, whatever T says. Half-open, one probe runs across the
//!   fleet at a time (a lease); its outcome closes or re-opens the breaker
//!   everywhere. An `async fn` awaits the lease
//!   ([`Breaker::acquire`](crate::breaker::Breaker::acquire)): no Redis
//!   call blocks an async runtime's worker; a sync `fn` asks on its own
//!   thread, at most the operation bound. Below the quorum an opening is
//!   the instance's own: it probes alone, and its close takes its vote back
//!   and closes no one else — one replica's bad path stays that replica's.
//!   Openings are told apart by their episode (the wall time
//!   they began, and always later than any episode the opener knew of): a
//!   "closed" names the one it ends, and is ignored by an instance that
//!   knows of a newer opening. An episode heard from more than a second
//!   ahead of this instance's clock counts as a second ahead: a clock
//!   running ahead (or a hostile writer) silences later openings for a
//!   second at most. A breaker's first use reads
//!   its "open until" key (one read, at most the operation bound, on the
//!   calling thread) before its first call decides, so a replica started
//!   while the fleet holds the breaker open rejects its first call too.
//!   News from the fleet is applied, and told to the breaker's
//!   state-change listeners, on a thread of its own: a slow listener
//!   delays no Redis operation.
//!
//! # When Redis is slow, down or lost
//!
//! Every Redis operation has a bound, [`FleetOptions::operation_timeout`]
//! (50 ms), measured in real time on the fleet's own thread (or, for an
//! async caller's cache read on its own runtime, by the watchdog below:
//! no timer on a runtime whose clock may be paused); a caller's wait
//! for that thread's answer is bounded too (in real time, on any executor:
//! an async caller's by one watchdog thread for the process), so even a
//! stalled fleet thread holds no call past the bound and 50 ms of slack for
//! the hand-over. On a timeout or an error the call goes on with local
//! state — never an error, never a wait past the bound and its slack — the
//! failure is counted in
//! `fleet_errors_total{kind}` (feature `metrics`), and the first failure of
//! an outage is one warning. During the outage operations skip Redis at
//! once while a background ping (every 250 ms) waits for it; when it
//! answers, one info event says so and sharing resumes by itself. Each
//! ping that fails replaces the connection with a new one, so a connection
//! that stops answering without closing (a blackholed path, a dead node
//! behind a load balancer) costs an outage of a ping or two, not the
//! minutes the kernel takes to give up on it; and a `READONLY` answer (a
//! failover demoted the node) replaces it at once, so the new primary
//! behind the same address is reached (an idle connection is watched by
//! [TCP keepalive](#tcp-keepalive) as well). The breaker news listener pings its
//! own connection after a second without news; unanswered within half a
//! second, the connection is replaced (the other one with it), the
//! listener subscribes again and reads the open breakers — again and again
//! until a read gets through, so news missed during the silence or an
//! outage is caught up. It subscribes again, and catches up, whenever the
//! other connection is replaced too: after a failover its own connection
//! may still lead to the demoted node, which answers its pings but hears
//! no news.
//!
//! # Consistency
//!
//! Eventual. A value loaded anywhere is visible to the others on their next
//! local miss; a breaker opened anywhere opens the others within the
//! pub/sub delay (milliseconds on a healthy Redis). An instance that was
//! cut off from Redis catches up when it reconnects (it reads the open
//! breakers again); what it missed meanwhile it judged alone.
//!
//! A shared entry's age is measured on one clock, Redis's: the write's
//! script stamps the value with Redis's `TIME`, and every read carries
//! `TIME` beside the bytes. Replicas whose clocks disagree, a clock stepped
//! by NTP, a host back from suspend or booted after the value was loaded
//! all see one age. (A server whose ACL refuses `EVAL` gets the writer's
//! stamp instead, on the writer's clock, and the refusal is counted.)
//! Breaker times ("open until T", episodes) are wall-clock times derived
//! from the crate's one clock, so they are as consistent as the replicas'
//! clocks; no replica stays open past its own `open_for` whatever T says.
//!
//! # What shared keys and values need
//!
//! `serde::Serialize` for every part of a shared cache's key, and
//! `Serialize + DeserializeOwned` for its value; a missing bound is a
//! compile error at the attribute that names it:
//!
//! ```compile_fail
//! use resilience_runtime::stale_cache;
//!
//! #[derive(Debug, Clone)]
//! struct Profile; // no Serialize, no Deserialize
//!
//! #[stale_cache(shared = true)]
//! fn profile(user_id: u64) -> Result<Profile, std::io::Error> {
//!     Ok(Profile)
//! }
//! ```
//!
//! # Redis is a trust boundary
//!
//! Everything read back is untrusted, and every read is bounded: at most
//! [`FleetOptions::max_entry_bytes`] of a cache entry are read (an
//! oversized or malformed entry is a miss, counted as `malformed`, told
//! once, and so is one whose load time is more than a second ahead of
//! Redis's clock: it would pass for fresh until its time to live), at most 41 bytes of an "open until T" (anything but `{until}
//! {episode}` in digits is ignored, counted), of a breaker's votes only
//! their count (a votes key of another type is replaced by the next vote;
//! a vote dated more than a second ahead of Redis's clock is dropped, not
//! counted), and a pub/sub frame announcing more than 4 KiB ends
//! the listener's connection before its body is read (it subscribes again
//! and reads the open breakers; messages that do not parse are dropped).
//! Over TLS (`rediss://`) the listener is redis-rs's own, bounded only by
//! the server's `proto-max-bulk-len`. What one key holds never takes the fleet off
//! Redis: a reply of the wrong type (a list where an entry should be), a
//! non-integer where a time should be, a command the server refuses for
//! that key (`NOSCRIPT`, an ACL's `NOPERM`) is a miss for that key, counted
//! as `malformed`; an entry of the wrong type is overwritten by the next
//! value loaded. Only a failure of Redis as a whole — a timeout, a lost
//! connection, a server that is loading, read-only or refuses the login —
//! is an outage. Keys built from arguments are SHA-256 digests, so
//! no argument reaches another function's or namespace's keys, and the
//! value type's fingerprint is in every key, so a deploy that changes the
//! type reads none of the old entries.

mod breaker_ops;
mod cache_ops;
mod codec;
mod guard;
mod health;
mod keys;
mod link;
mod near;
mod options;
#[cfg(feature = "redis-tls")]
mod tls;
mod wall;
mod watch;

use std::sync::{Arc, OnceLock};

pub use options::FleetOptions;

pub(crate) use breaker_ops::{Signal, Vote};
pub(crate) use cache_ops::{Acquired, Address, Lease, Seen};
pub(crate) use codec::{decode_entry, encode_entry, key_digest, type_fingerprint};
pub(crate) use wall::{millis_at, now_millis};

use breaker_ops::Board;
use keys::Keys;
use link::Link;

/// A connection to the fleet's Redis, under one namespace.
///
/// [`connect`] makes the process's one fleet, which the attributes use.
/// [`Fleet::connect`] makes others, for a cache or breaker built by hand
/// (or for a test standing for several replicas in one process). Cloning is
/// cheap: clones share the connection.
///
/// ```no_run
/// use resilience_runtime::fleet::Fleet;
///
/// # async fn start() -> Result<(), resilience_runtime::fleet::FleetError> {
/// let fleet = Fleet::connect("redis://127.0.0.1:6379", "profile-service").await?;
/// assert_eq!(fleet.namespace(), "profile-service");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Fleet {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    keys: Keys,
    link: Arc<Link>,
    options: FleetOptions,
    /// This connection's id, in leases and breaker messages.
    instance: String,
    board: Board,
}

/// Why the fleet could not be connected. Its `Display` says what to write
/// instead.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use resilience_runtime::fleet::{self, FleetError};
///
/// let error = fleet::connect("redis://127.0.0.1:6379", "no spaces").await.unwrap_err();
/// assert!(matches!(error, FleetError::Namespace(_)));
/// assert!(error.to_string().contains("ASCII letters"));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetError {
    /// The URL is not a Redis URL redis-rs accepts.
    Url(String),
    /// The namespace is empty, longer than 64 bytes, or has characters other
    /// than ASCII letters, digits, `_`, `.` and `-`.
    Namespace(String),
    /// [`connect`] was called before: the process has its fleet.
    AlreadyConnected,
    /// The fleet's thread could not be started.
    Thread(std::io::Error),
    /// (Feature `redis-tls`.) The certificates or key given in
    /// [`FleetOptions`] are unusable (no PEM block, a malformed one, a key
    /// that is not the certificate's), or were given for a `redis://` URL.
    /// Unlike a server that refuses the handshake, which is an unreachable
    /// Redis (local-only, warned), this is a mistake in the process's own
    /// configuration: it never connects, so `connect` says so at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use resilience_runtime::fleet::{Fleet, FleetError, FleetOptions};
    ///
    /// let options = FleetOptions::new().tls_root_certificate(b"/etc/redis/ca.crt".to_vec());
    /// let error = Fleet::connect_with("rediss://127.0.0.1:6380", "orders", options)
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(error, FleetError::Tls(_)));
    /// assert!(error.to_string().contains("no certificate found in the root certificate"));
    /// # }
    /// ```
    #[cfg(feature = "redis-tls")]
    Tls(String),
}

impl std::fmt::Display for FleetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FleetError::Url(why) => write!(
                f,
                "not a Redis URL ({why}): write redis://[user][:password@]host[:port][/db], \
                 or rediss://… for TLS"
            ),
            FleetError::Namespace(namespace) => write!(
                f,
                "fleet namespace {namespace:?} is invalid: use 1 to 64 ASCII letters, digits, `_`, `.` or `-`"
            ),
            FleetError::AlreadyConnected => f.write_str(
                "the fleet is connected already: call `fleet::connect` once, at start-up",
            ),
            FleetError::Thread(error) => write!(f, "the fleet thread could not start: {error}"),
            #[cfg(feature = "redis-tls")]
            FleetError::Tls(why) => write!(f, "fleet TLS: {why}"),
        }
    }
}

impl std::error::Error for FleetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FleetError::Thread(error) => Some(error),
            _ => None,
        }
    }
}

static CONNECTED: OnceLock<Fleet> = OnceLock::new();

/// Connects the process's fleet, the one `shared = true` attributes use,
/// with the default [`FleetOptions`]. Call it once, at start-up, before the
/// first shared call: a shared call before it runs local-only and says so
/// once; a shared cache looks for the fleet again on each miss, but a
/// shared breaker looks once, when first used, and stays local if there was
/// none.
///
/// Only a bad URL or namespace is an error: a Redis that does not answer
/// yet is a warning, and the process runs local-only until it does.
///
/// ```no_run
/// # async fn start() -> Result<(), resilience_runtime::fleet::FleetError> {
/// resilience_runtime::fleet::connect("redis://127.0.0.1:6379", "profile-service").await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str, namespace: &str) -> Result<Fleet, FleetError> {
    connect_with(url, namespace, FleetOptions::new()).await
}

/// [`connect`] with options of your own.
///
/// ```no_run
/// use std::time::Duration;
/// use resilience_runtime::fleet::{self, FleetOptions};
///
/// # async fn start() -> Result<(), fleet::FleetError> {
/// let options = FleetOptions::new().operation_timeout(Duration::from_millis(20));
/// fleet::connect_with("redis://127.0.0.1:6379", "profile-service", options).await?;
/// # Ok(()) }
/// ```
pub async fn connect_with(
    url: &str,
    namespace: &str,
    options: FleetOptions,
) -> Result<Fleet, FleetError> {
    if CONNECTED.get().is_some() {
        return Err(FleetError::AlreadyConnected);
    }
    let fleet = Fleet::connect_with(url, namespace, options).await?;
    CONNECTED
        .set(fleet.clone())
        .map_err(|_| FleetError::AlreadyConnected)?;
    Ok(fleet)
}

/// The process's fleet, once [`connect`] made it.
///
/// ```
/// # use resilience_runtime::fleet;
/// if fleet::connected().is_none() {
///     println!("running local-only");
/// }
/// ```
pub fn connected() -> Option<&'static Fleet> {
    CONNECTED.get()
}

/// The process's fleet for a shared attribute; without one, says once that
/// shared attributes run local-only.
pub(crate) fn for_shared(what: &'static str) -> Option<&'static Fleet> {
    let fleet = connected();
    if fleet.is_none() {
        static TOLD: std::sync::Once = std::sync::Once::new();
        TOLD.call_once(|| {
            tracing::warn!(
                target: "resilience", function = what,
                "`shared = true` but no fleet is connected: running local-only \
                 (call `resilience_runtime::fleet::connect` at start-up to share)"
            );
        });
    }
    fleet
}

impl Fleet {
    /// A fleet connection of its own (not the process's: see [`connect`]),
    /// with the default options. The connection is made on first use and
    /// remade whenever it is lost; this pings once and warns if Redis does
    /// not answer.
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn start() -> Result<(), resilience_runtime::fleet::FleetError> {
    /// let replica = Fleet::connect("redis://127.0.0.1:6379", "profile-service").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str, namespace: &str) -> Result<Self, FleetError> {
        Self::connect_with(url, namespace, FleetOptions::new()).await
    }

    /// [`Fleet::connect`] with options of your own.
    ///
    /// ```
    /// use resilience_runtime::fleet::{Fleet, FleetError, FleetOptions};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let bad = Fleet::connect_with("redis://127.0.0.1:1", "no spaces", FleetOptions::new()).await;
    /// assert!(matches!(bad, Err(FleetError::Namespace(_))));
    /// # }
    /// ```
    pub async fn connect_with(
        url: &str,
        namespace: &str,
        options: FleetOptions,
    ) -> Result<Self, FleetError> {
        check_namespace(namespace)?;
        #[cfg(feature = "redis-tls")]
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Lost to another thread installing one at once: theirs is kept.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = client(url, &options)?;
        let link = Link::open(
            client,
            namespace.to_owned(),
            options.operation_timeout_value(),
        )
        .map_err(FleetError::Thread)?;
        let fleet = Self {
            inner: Arc::new(Inner {
                namespace: namespace.to_owned(),
                keys: Keys::new(namespace),
                link,
                options,
                instance: format!("{:016x}", fastrand::u64(..)),
                board: Board::default(),
            }),
        };
        if !fleet.ping().await {
            tracing::warn!(
                target: "resilience", namespace,
                "fleet Redis does not answer yet: running local-only until it does"
            );
        }
        Ok(fleet)
    }

    /// The namespace every key of this fleet is under.
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn f(fleet: Fleet) {
    /// println!("keys under resilience:{}:", fleet.namespace());
    /// # }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The options this fleet runs with.
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn f(fleet: Fleet) {
    /// println!("{:?}", fleet.options().operation_timeout_value());
    /// # }
    /// ```
    pub fn options(&self) -> &FleetOptions {
        &self.inner.options
    }

    /// Whether Redis answered the last operation (false during an outage,
    /// while calls run local-only).
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn f(fleet: Fleet) {
    /// if !fleet.is_reachable() {
    ///     eprintln!("running local-only");
    /// }
    /// # }
    /// ```
    pub fn is_reachable(&self) -> bool {
        !self.inner.link.health.is_down()
    }

    /// Redis operations of this fleet that failed (timed out, errored, or
    /// read back a malformed entry) since it was connected: what
    /// `fleet_errors_total` counts for it.
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn f(fleet: Fleet) {
    /// println!("{} fleet errors", fleet.errors());
    /// # }
    /// ```
    pub fn errors(&self) -> u64 {
        self.inner.link.health.errors()
    }

    /// Asks Redis for a `PING`, within the operation bound.
    ///
    /// ```no_run
    /// # use resilience_runtime::fleet::Fleet;
    /// # async fn f(fleet: Fleet) {
    /// assert!(fleet.ping().await, "Redis answers");
    /// # }
    /// ```
    pub async fn ping(&self) -> bool {
        let link = &self.inner.link;
        let ping = |mut conn: redis::aio::ConnectionManager, bound| async move {
            link::bounded(bound, redis::cmd("PING").query_async::<()>(&mut conn)).await
        };
        link.run("ping", link.bound(), ping).await.is_some()
    }
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("namespace", &self.inner.namespace)
            .field("reachable", &self.is_reachable())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// The redis-rs client of every fleet connection: the URL, the TCP
/// keepalive of [`FleetOptions::tcp_keepalive`], and with `redis-tls` the
/// certificates given (checked here, so a bad one is an error of `connect`
/// rather than an outage that never ends).
fn client(url: &str, options: &FleetOptions) -> Result<redis::Client, FleetError> {
    use redis::IntoConnectionInfo as _;
    let info = url
        .into_connection_info()
        .map_err(|error| FleetError::Url(error.to_string()))?
        .set_tcp_settings(options.tcp_settings());
    #[cfg(feature = "redis-tls")]
    {
        let is_tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
        if let Some(certificates) = options
            .tls_files()
            .certificates(is_tls)
            .map_err(FleetError::Tls)?
        {
            return redis::Client::build_with_tls(info, certificates)
                .map_err(|error| FleetError::Tls(error.to_string()));
        }
    }
    redis::Client::open(info).map_err(|error| FleetError::Url(error.to_string()))
}

fn check_namespace(namespace: &str) -> Result<(), FleetError> {
    let valid = (1..=64).contains(&namespace.len())
        && namespace
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(FleetError::Namespace(namespace.to_owned()))
    }
}

#[cfg(test)]
mod near_tests;
#[cfg(test)]
mod tests;
