//! The fault matrix of the fleet tier: for each fault between a replica and
//! Redis, what a call of a shared `#[stale_cache]` and a shared `#[breaker]`
//! sees while it holds, its worst-case latency, and how long after the fault
//! clears sharing resumes. The README's table is this test's output:
//!
//! ```text
//! cargo test -p resilience-runtime --features redis --test fleet_matrix -- --nocapture
//! ```
//!
//! Replica A is this process: the decorated functions below, on the
//! process's fleet (`fleet::connect`), through a [`Proxy`] that injects the
//! faults. Replica B is a fleet connection of its own, straight to Redis,
//! with a cache and a breaker built by hand under the same names. One test,
//! the faults in turn: the process has one fleet, and figures measured one
//! fault at a time are not skewed by another's.
//!
//! While a fault holds (1.5 s), A calls in a loop: a key B just loaded (a
//! read from Redis), a key no one loaded (read, lease, load, write back),
//! and the breaker, tripped at the start (a publish), rejecting, then
//! probing (the probe lease). Every call must answer with its own key's
//! value within the bound below. When the fault clears, B trips its breaker
//! and loads new keys: the figures are how long until A hears of the
//! opening, and until A serves a key B loaded without loading it.

// They call the cache through its deprecated methods, kept for one release:
// each forwards to the request API, so these tests run both.
#![allow(deprecated)]

#[path = "fleet/proxy.rs"]
mod proxy;
#[path = "fleet/server.rs"]
mod server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin, State, registry};
use resilience_runtime::fleet::{self, Fleet, FleetOptions};
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
use resilience_runtime::{CircuitOpen, breaker, stale_cache};
use serde::{Deserialize, Serialize};

use proxy::Proxy;
use server::{RedisServer, namespace};

/// The decorated cache's name, which B's cache shares.
const PROFILES: &str = "matrix-profiles";
/// The decorated breaker's name, which B's breaker shares.
const PAYMENTS: &str = "matrix-payments";
/// How long each fault holds.
const HOLD: Duration = Duration::from_millis(1500);
/// A's breaker: `open_for` of the attribute below.
const OPEN_FOR: Duration = Duration::from_secs(1);

/// The worst a call may take while a fault holds: a call makes at most a
/// few Redis operations, each bounded by the operation timeout; the rest
/// is slack for a busy 2-core machine. An unbounded wait (a hung
/// connection, a refresh waiting on a lease no one gives back) is far past
/// it.
fn worst_allowed(bound: Duration) -> Duration {
    bound * 4 + Duration::from_millis(600)
}

/// How long after a fault clears sharing must have resumed: the outage's
/// ping (every 250 ms), the breaker listener's silence (1 s) and ping
/// (0.5 s), a resubscription (0.25 s later) and slack.
const RESUME_ALLOWED: Duration = Duration::from_secs(5);

/// About a kilobyte, as a real profile: enough for a bandwidth limit to
/// bite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    bio: String,
}

fn profile_of(id: u64) -> Profile {
    Profile {
        id,
        name: format!("User {id}"),
        bio: format!("{id:>16}").repeat(64),
    }
}

#[derive(Debug)]
enum ApiError {
    Down,
    Open(#[allow(dead_code)] CircuitOpen),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

/// Loads A's upstream made.
static LOADS: AtomicUsize = AtomicUsize::new(0);

#[stale_cache(
    maxage = 1,
    tolerance = 30,
    retries = 0,
    shared = true,
    name = "matrix-profiles"
)]
async fn profile(id: u64) -> Result<Profile, ApiError> {
    LOADS.fetch_add(1, SeqCst);
    Ok(profile_of(id))
}

#[breaker(
    name = "matrix-payments",
    shared = true,
    min_calls = 2,
    failure_rate = 0.5,
    open_for = 1,
    quorum = 1
)]
async fn charge(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Down) } else { Ok(7) }
}

fn describe(_: &(), f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("down")
}

/// Replica B: straight to Redis.
struct ReplicaB {
    fleet: Fleet,
    cache: StaleCache<(u64,), Profile>,
    breaker: Arc<Breaker>,
}

impl ReplicaB {
    async fn start(url: &str, ns: &str) -> Self {
        let fleet = Fleet::connect(url, ns).await.unwrap();
        let breaker = Arc::new(Breaker::new(
            PAYMENTS,
            BreakerConfig::new()
                .min_calls(2)
                .open_for(Duration::from_secs(5))
                .quorum(1),
        ));
        breaker.share_on(&fleet);
        Self {
            fleet,
            cache: StaleCache::new(CacheConfig::new().tolerance(Duration::from_secs(30))),
            breaker,
        }
    }

    /// Loads `id` (its own upstream) and writes it to Redis.
    async fn load(&self, id: u64) {
        let load = async move { Ok::<_, ()>(profile_of(id)) };
        let value = self
            .cache
            .get_or_load_on(&self.fleet, (id,), PROFILES, load, describe)
            .await
            .unwrap();
        assert_eq!(value, profile_of(id));
    }

    /// Opens its breaker (a probe that fails, if it is half-open from
    /// news of A's opening).
    async fn trip(&self) {
        let started = Instant::now();
        while !(self.breaker.state() == State::Open && self.breaker.origin() == Origin::Local) {
            match self.breaker.try_acquire() {
                Ok(permit) => permit.record(true),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
            assert!(started.elapsed() < Duration::from_secs(8), "B trips");
        }
    }
}

/// A call of A's cache: its value must be its key's, within the bound.
/// Returns how long it took and whether A's upstream loaded it.
async fn call_profile(id: u64) -> (Duration, bool) {
    let loads = LOADS.load(SeqCst);
    let started = Instant::now();
    let value = profile(id).await.expect("a shared cache call never fails");
    let took = started.elapsed();
    assert_eq!(value, profile_of(id), "the value of its own key");
    (took, LOADS.load(SeqCst) > loads)
}

async fn call_charge(fail: bool) -> Duration {
    let started = Instant::now();
    let _ = charge(fail).await;
    started.elapsed()
}

/// A's breaker, once `charge` was called.
fn a_breaker() -> Arc<Breaker> {
    registry().get(PAYMENTS).expect("charge was called")
}

/// Waits until A's breaker is closed: a probe that succeeds.
async fn close_a() {
    let started = Instant::now();
    // An open breaker moves to half-open on a call: call until one passes.
    while charge(false).await.is_err() || a_breaker().state() != State::Closed {
        assert!(
            started.elapsed() < OPEN_FOR * 4,
            "A's breaker closes within 4 open_for"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Latency,
    Bandwidth,
    Hang,
    Blackhole,
    Reset,
    SlowClose,
    Hostile,
    KillRestart,
    Failover,
}

impl Fault {
    const ALL: [Fault; 9] = [
        Fault::Latency,
        Fault::Bandwidth,
        Fault::Hang,
        Fault::Blackhole,
        Fault::Reset,
        Fault::SlowClose,
        Fault::Hostile,
        Fault::KillRestart,
        // Last: from here on the new primary serves.
        Fault::Failover,
    ];

    fn name(self) -> &'static str {
        match self {
            Fault::Latency => "latency 40 ms per reply",
            Fault::Bandwidth => "bandwidth 8 KiB/s",
            Fault::Hang => "open connections hang",
            Fault::Blackhole => "blackhole",
            Fault::Reset => "connection reset",
            Fault::SlowClose => "slow close (1.5 s)",
            Fault::Hostile => "hostile writer",
            Fault::KillRestart => "Redis killed, restarted empty",
            Fault::Failover => "failover, old node READONLY",
        }
    }
}

/// The Redis servers and the proxy A reaches them through.
struct Env {
    primary: RedisServer,
    /// The demoted primary, after the failover.
    old: Option<RedisServer>,
    proxy: Proxy,
    ns: String,
}

impl Env {
    async fn raw(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.primary.url()).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    async fn on(&mut self, fault: Fault) {
        match fault {
            Fault::Latency => self.proxy.set_latency(Duration::from_millis(40)),
            Fault::Bandwidth => self.proxy.set_bandwidth(8 * 1024),
            Fault::Hang => self.proxy.hang_existing(),
            Fault::Blackhole => self.proxy.set_blackhole(true),
            Fault::Reset => self.proxy.set_reset(true),
            Fault::SlowClose => {
                self.proxy.set_slow_close(HOLD);
                self.proxy.close_existing();
            }
            Fault::Hostile => {
                // A far-future "open until", written and announced as a
                // replica would, with no time to live.
                let mut conn = self.raw().await;
                let now = wall_millis();
                let until = now + 10 * 365 * 24 * 3_600_000;
                redis::cmd("SET")
                    .arg(format!("resilience:{}:breaker-open:{PAYMENTS}", self.ns))
                    .arg(format!("{until} {now}"))
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
                redis::cmd("PUBLISH")
                    .arg(format!("resilience:{}:breakers", self.ns))
                    .arg(format!("ffffffffffffffff open {until} {now} {PAYMENTS}"))
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
            }
            Fault::KillRestart => self.primary.stop(),
            Fault::Failover => {
                // The new primary; the old one follows it (and answers
                // writes with READONLY); the address leads to the new one
                // for new connections.
                let new = RedisServer::spawn();
                let mut conn = self.raw().await;
                let port = new.url().rsplit(':').next().unwrap().to_owned();
                redis::cmd("REPLICAOF")
                    .arg("127.0.0.1")
                    .arg(&port)
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
                self.proxy.switch_to(new.url());
                self.old = Some(std::mem::replace(&mut self.primary, new));
            }
        }
    }

    async fn off(&mut self, fault: Fault) {
        match fault {
            Fault::KillRestart => self.primary.start(),
            Fault::Hostile => {
                // The operator deletes the far-future key: it has no time
                // to live, and each replica that subscribes again would
                // open for its `open_for` on reading it.
                let mut conn = self.raw().await;
                redis::cmd("DEL")
                    .arg(format!("resilience:{}:breaker-open:{PAYMENTS}", self.ns))
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
            }
            _ => self.proxy.heal(),
        }
    }

    /// While the hostile writer holds: every entry written since the last
    /// look gets junk — a wrong type, a load time an hour ahead, or a value
    /// twice the largest entry read back.
    async fn vandalize(&self, seen: &mut std::collections::HashSet<String>) -> usize {
        let mut conn = self.raw().await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("resilience:{}:cache:*", self.ns))
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut done = 0;
        for key in keys {
            if !seen.insert(key.clone()) {
                continue;
            }
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut conn)
                .await
                .unwrap();
            let mut junk = redis::cmd("SET");
            match seen.len() % 3 {
                0 => junk = redis::cmd("RPUSH").arg(&key).arg("junk").clone(),
                1 => {
                    let mut entry = vec![1];
                    entry.extend_from_slice(&(wall_millis() + 3_600_000).to_be_bytes());
                    entry.push(0x66);
                    entry.extend_from_slice(b"future");
                    junk.arg(&key).arg(entry);
                }
                _ => {
                    junk = redis::cmd("SETRANGE");
                    junk.arg(&key)
                        .arg(2 * FleetOptions::new().max_entry_bytes_value())
                        .arg("9");
                }
            }
            junk.query_async::<()>(&mut conn).await.unwrap();
            done += 1;
        }
        done
    }
}

fn wall_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// What one fault did.
struct Figures {
    fault: Fault,
    cache_calls: usize,
    cache_worst: Duration,
    /// Calls of a key B loaded that A loaded itself (not shared).
    unshared: usize,
    shared_reads: usize,
    breaker_calls: usize,
    breaker_worst: Duration,
    cache_resumed: Duration,
    breaker_resumed: Duration,
}

impl Figures {
    fn row(&self) -> String {
        format!(
            "| {} | {} | {:.1} ms | {} of {} | {} | {:.1} ms | {} ms | {} ms |",
            self.fault.name(),
            self.cache_calls,
            self.cache_worst.as_secs_f64() * 1000.0,
            self.unshared,
            self.shared_reads,
            self.breaker_calls,
            self.breaker_worst.as_secs_f64() * 1000.0,
            self.cache_resumed.as_millis(),
            self.breaker_resumed.as_millis(),
        )
    }
}

async fn run(env: &mut Env, fault: Fault, first_id: u64) -> Figures {
    let bound = fleet::connected()
        .unwrap()
        .options()
        .operation_timeout_value();
    close_a().await;
    // Its close is published without waiting: let it land before the fault
    // (else B, next, reads the last opening and waits out its open_for).
    tokio::time::sleep(Duration::from_millis(100)).await;
    if fault == Fault::Hostile {
        let mut conn = env.raw().await;
        redis::cmd("FLUSHDB")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }

    env.on(fault).await;
    let held = Instant::now();
    // B reaches Redis straight, the primary of the moment.
    let b = ReplicaB::start(env.primary.url(), &env.ns).await;
    let mut figures = Figures {
        fault,
        cache_calls: 0,
        cache_worst: Duration::ZERO,
        unshared: 0,
        shared_reads: 0,
        breaker_calls: 0,
        breaker_worst: Duration::ZERO,
        cache_resumed: Duration::ZERO,
        breaker_resumed: Duration::ZERO,
    };
    let mut id = first_id;
    let mut seen = std::collections::HashSet::new();
    // A trips its breaker (a publish), is rejected, then probes.
    for fail in [true, true] {
        figures.breaker_worst = figures.breaker_worst.max(call_charge(fail).await);
        figures.breaker_calls += 1;
    }
    while held.elapsed() < HOLD {
        // A key B just loaded: read from Redis, unless the fault stops it.
        id += 1;
        b.load(id).await;
        if fault == Fault::Hostile {
            env.vandalize(&mut seen).await;
        }
        let (took, loaded) = call_profile(id).await;
        figures.cache_worst = figures.cache_worst.max(took);
        figures.shared_reads += 1;
        figures.unshared += usize::from(loaded);
        // A key no one loaded: read, lease, load, write back.
        id += 1;
        let (took, loaded) = call_profile(id).await;
        assert!(loaded, "a key no one loaded is A's to load");
        figures.cache_worst = figures.cache_worst.max(took);
        figures.cache_calls += 2;
        figures.breaker_worst = figures.breaker_worst.max(call_charge(false).await);
        figures.breaker_calls += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A's own opening has ended within the hold: its probe closes it.
    close_a().await;
    env.off(fault).await;
    let cleared = Instant::now();
    drop(b);

    // B, started afresh, trips its breaker and loads new keys; A must hear
    // of the opening and serve B's keys from Redis.
    let b = ReplicaB::start(env.primary.url(), &env.ns).await;
    b.trip().await;
    let (mut cache_resumed, mut breaker_resumed) = (None, None);
    while cache_resumed.is_none() || breaker_resumed.is_none() {
        assert!(
            cleared.elapsed() < RESUME_ALLOWED,
            "{}: sharing did not resume within {RESUME_ALLOWED:?} (cache {cache_resumed:?}, breaker {breaker_resumed:?})",
            fault.name()
        );
        if breaker_resumed.is_none() && a_breaker().state() != State::Closed {
            assert_eq!(a_breaker().origin(), Origin::Fleet, "B's opening");
            breaker_resumed = Some(cleared.elapsed());
        }
        if cache_resumed.is_none() {
            id += 1;
            b.load(id).await;
            let (_, loaded) = call_profile(id).await;
            if !loaded {
                cache_resumed = Some(cleared.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    figures.cache_resumed = cache_resumed.unwrap();
    figures.breaker_resumed = breaker_resumed.unwrap();

    let allowed = worst_allowed(bound);
    assert!(
        figures.cache_worst < allowed && figures.breaker_worst < allowed,
        "{}: a call took {:?} (cache) / {:?} (breaker), past {allowed:?}",
        fault.name(),
        figures.cache_worst,
        figures.breaker_worst
    );
    figures
}

#[test]
fn fault_matrix() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let primary = RedisServer::spawn();
        let proxy = Proxy::to(primary.url());
        let ns = namespace("matrix");
        fleet::connect(&proxy.url(), &ns).await.unwrap();
        let _ = charge(false).await; // A's breaker, registered and shared
        tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land
        let mut env = Env {
            primary,
            old: None,
            proxy,
            ns,
        };
        let started = Instant::now();
        let mut rows = Vec::new();
        for (i, fault) in Fault::ALL.into_iter().enumerate() {
            let figures = run(&mut env, fault, (i as u64 + 1) * 100_000).await;
            println!("{}", figures.row());
            rows.push(figures);
        }
        println!();
        println!(
            "| fault | cache calls | worst cache call | B's keys A loaded itself | breaker calls | worst breaker call | cache sharing resumed | breaker news resumed |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for figures in &rows {
            println!("{}", figures.row());
        }
        println!(
            "(operation bound {:?}; each fault held {HOLD:?}; resumed: after the fault cleared; {:.1} s in all)",
            fleet::connected().unwrap().options().operation_timeout_value(),
            started.elapsed().as_secs_f64()
        );
        drop(env.old.take());
    });
}
