//! `StaleCache` with the fleet as its second tier: several instances in one
//! test process, each a cache of its own on a fleet connection of its own,
//! stand for replicas.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use resilience_runtime::fleet::{Fleet, FleetOptions};
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
use serde::{Deserialize, Serialize};

use crate::server::{RedisServer, namespace};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u32,
}

#[derive(Debug)]
struct Down;

fn describe(_: &Down, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("upstream down")
}

fn profile(name: &str) -> Profile {
    Profile {
        name: name.into(),
        visits: 1,
    }
}

const FUNCTION: &str = "app::fetch_user_profile";

fn config() -> CacheConfig {
    CacheConfig::new()
        .maxage(Duration::from_secs(3))
        .tolerance(Duration::from_secs(15))
}

/// One replica: a fleet connection and an empty local cache.
struct Replica {
    fleet: Fleet,
    cache: StaleCache<String, Profile>,
}

impl Replica {
    async fn start(url: &str, namespace: &str, config: CacheConfig) -> Self {
        let options = FleetOptions::new().refresh_wait(Duration::from_secs(2));
        Self {
            fleet: Fleet::connect_with(url, namespace, options).await.unwrap(),
            cache: StaleCache::new(config),
        }
    }

    async fn get(&self, key: &str, upstream: &Upstream) -> Result<Profile, Down> {
        let load = upstream.call(key);
        self.cache
            .get_or_load_on(&self.fleet, key.into(), FUNCTION, load, describe)
            .await
    }

    /// The sync path: Redis operations block this thread.
    fn get_blocking(&self, key: &str, upstream: &Upstream) -> Result<Profile, Down> {
        let (calls, down) = (Arc::clone(&upstream.calls), Arc::clone(&upstream.down));
        let key_owned = key.to_owned();
        let load = move || {
            calls.fetch_add(1, SeqCst);
            if down.load(SeqCst) {
                Err(Down)
            } else {
                Ok(profile(&key_owned))
            }
        };
        self.cache
            .get_or_load_on_blocking(&self.fleet, key.into(), FUNCTION, load, describe)
    }
}

/// Counts its calls; answers `Ok` until told to fail.
#[derive(Clone, Default)]
struct Upstream {
    calls: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
    delay: Duration,
}

impl Upstream {
    fn call(&self, key: &str) -> impl Future<Output = Result<Profile, Down>> + Send + 'static {
        let (calls, down, delay) = (Arc::clone(&self.calls), Arc::clone(&self.down), self.delay);
        let key = key.to_owned();
        async move {
            calls.fetch_add(1, SeqCst);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if down.load(SeqCst) {
                Err(Down)
            } else {
                Ok(profile(&key))
            }
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(SeqCst)
    }

    fn fail(&self) {
        self.down.store(true, SeqCst);
    }
}

#[tokio::test]
async fn a_value_loaded_by_one_replica_is_served_fresh_by_another_without_a_call() {
    let server = RedisServer::any();
    let ns = namespace("fresh");
    let a = Replica::start(server.url(), &ns, config()).await;
    let b = Replica::start(server.url(), &ns, config()).await;
    let upstream = Upstream::default();

    assert_eq!(a.get("ada", &upstream).await.unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 1);
    assert_eq!(b.get("ada", &upstream).await.unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 1, "served from Redis, not the upstream");
    // And kept locally: no Redis needed for the next hit either.
    upstream.fail();
    assert_eq!(b.get("ada", &upstream).await.unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 1);
    // Another key is another entry.
    assert!(b.get("grace", &upstream).await.is_err());
}

/// Real time for what crosses Redis: ages are measured on Redis's clock,
/// which a paused test clock does not move. Short, with margins of a few
/// hundred milliseconds either side of each bound.
fn short() -> CacheConfig {
    CacheConfig::new()
        .maxage(Duration::from_millis(400))
        .tolerance(Duration::from_secs(2))
}

/// Sleeps (real time) until `at` after `start`.
async fn until(start: Instant, at: Duration) {
    tokio::time::sleep(at.saturating_sub(start.elapsed())).await;
}

#[tokio::test]
async fn a_restarted_replica_serves_another_s_stale_value_within_tolerance_and_errors_past_it() {
    let server = RedisServer::any();
    let ns = namespace("restart");
    let upstream = Upstream::default();
    let loaded = Instant::now();
    {
        let first_life = Replica::start(server.url(), &ns, short()).await;
        first_life.get("ada", &upstream).await.unwrap();
    }
    upstream.fail();

    until(loaded, Duration::from_millis(800)).await; // expired, within tolerance
    let restarted = Replica::start(server.url(), &ns, short()).await;
    let stale = restarted.get("ada", &upstream).await;
    assert_eq!(
        stale.unwrap(),
        profile("ada"),
        "the previous life's value, 0.8 s old"
    );
    assert_eq!(upstream.calls(), 2, "the refresh was tried");

    until(loaded, Duration::from_millis(2600)).await; // past tolerance
    let again = Replica::start(server.url(), &ns, short()).await;
    assert!(again.get("ada", &upstream).await.is_err());
    assert!(restarted.get("ada", &upstream).await.is_err());
}

/// Defect 2 of issue 23: the sync path once wrote the stale value it
/// served after a failed refresh back to Redis, stamped now, so every
/// replica served it as fresh and the error past `tolerance` never came.
#[tokio::test]
async fn a_failed_sync_refresh_writes_nothing_and_stale_data_stays_stale() {
    let server = RedisServer::any();
    let ns = namespace("sync-stale");
    let upstream = Upstream::default();
    let a = Replica::start(server.url(), &ns, short()).await;
    let loaded = Instant::now();
    a.get_blocking("ada", &upstream).unwrap();
    upstream.fail();

    until(loaded, Duration::from_millis(800)).await; // expired, within tolerance
    assert_eq!(a.get_blocking("ada", &upstream).unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 2, "the refresh was tried, and failed");

    // Another replica finds the entry as old as it is: it refreshes too.
    let b = Replica::start(server.url(), &ns, short()).await;
    assert_eq!(b.get_blocking("ada", &upstream).unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 3, "not served as fresh from Redis");

    until(loaded, Duration::from_millis(2600)).await; // past tolerance
    let c = Replica::start(server.url(), &ns, short()).await;
    assert!(c.get_blocking("ada", &upstream).is_err(), "past tolerance");
    assert!(c.get("ada", &upstream).await.is_err(), "the async path too");
}

/// Defect 5 of issue 23: a refresh whose caller gave up (its future
/// dropped: a request timeout, a client gone) once kept the key's lease
/// for its whole time to live, so every other replica waited
/// `refresh_wait` on each call of that key.
#[tokio::test]
async fn a_dropped_refresh_gives_its_lease_back_at_once() {
    let server = RedisServer::any();
    let ns = namespace("dropped-lease");
    let a = Replica::start(server.url(), &ns, config()).await;
    let b = Replica::start(server.url(), &ns, config()).await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let leases = format!("resilience:{ns}:lease:*");

    // A leads the refresh of "ada" and hangs in its load until dropped.
    let loading = Arc::new(tokio::sync::Notify::new());
    let load = {
        let loading = Arc::clone(&loading);
        async move {
            loading.notify_one();
            std::future::pending::<Result<Profile, Down>>().await
        }
    };
    let hangs = a
        .cache
        .get_or_load_on(&a.fleet, "ada".into(), FUNCTION, load, describe);
    let held: Vec<String> = tokio::select! {
        _ = hangs => panic!("the load hangs"),
        held = async {
            loading.notified().await;
            redis::cmd("KEYS").arg(&leases).query_async(&mut conn).await.unwrap()
        } => held,
    };
    // Its caller gave up: the refresh's future is dropped.
    assert_eq!(held.len(), 1, "A held the lease while loading");
    let started = Instant::now();
    let mut left = held.len();
    while left > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the lease {held:?} outlived its dropped refresh by 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&leases)
            .query_async(&mut conn)
            .await
            .unwrap();
        left = keys.len();
    }
    // B leads at once instead of waiting out `refresh_wait` (2 s).
    let upstream = Upstream::default();
    let started = Instant::now();
    assert_eq!(b.get("ada", &upstream).await.unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_value_from_redis_keeps_its_original_age() {
    let server = RedisServer::any();
    let ns = namespace("age");
    let upstream = Upstream::default();
    let config = CacheConfig::new()
        .maxage(Duration::from_secs(1))
        .tolerance(Duration::from_secs(15));
    let a = Replica::start(server.url(), &ns, config).await;
    let loaded = Instant::now();
    a.get("ada", &upstream).await.unwrap();

    until(loaded, Duration::from_millis(500)).await; // fresh for 0.5 s more
    let b = Replica::start(server.url(), &ns, config).await;
    b.get("ada", &upstream).await.unwrap();
    assert_eq!(upstream.calls(), 1);
    until(loaded, Duration::from_millis(1300)).await; // expired, 0.8 s in b
    b.get("ada", &upstream).await.unwrap();
    assert_eq!(
        upstream.calls(),
        2,
        "b refreshed at the value's age, not its own"
    );
}

#[test]
fn four_replicas_and_a_thousand_callers_on_one_expired_key_make_one_upstream_call() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = RedisServer::any();
        let ns = namespace("herd");
        // Real time here: a short maxage, waited out for real.
        let config = CacheConfig::new()
            .maxage(Duration::from_millis(300))
            .tolerance(Duration::from_secs(30));
        let mut replicas = Vec::new();
        for _ in 0..4 {
            replicas.push(Arc::new(Replica::start(server.url(), &ns, config).await));
        }
        let upstream = Upstream {
            delay: Duration::from_millis(100),
            ..Upstream::default()
        };
        for replica in &replicas {
            replica.get("ada", &upstream).await.unwrap();
        }
        assert_eq!(upstream.calls(), 1, "the others read the first one's value");
        tokio::time::sleep(Duration::from_millis(350)).await;

        let mut callers = Vec::new();
        for replica in &replicas {
            for _ in 0..250 {
                let (replica, upstream) = (Arc::clone(replica), upstream.clone());
                callers.push(tokio::spawn(
                    async move { replica.get("ada", &upstream).await },
                ));
            }
        }
        for caller in callers {
            assert_eq!(caller.await.unwrap().unwrap(), profile("ada"));
        }
        assert_eq!(upstream.calls(), 2, "one refresh across the fleet");
    });
}

#[test]
fn killing_redis_leaves_every_call_answering_locally_and_a_restart_resumes_sharing() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut server = RedisServer::spawn();
        let ns = namespace("kill");
        let config = CacheConfig::new()
            .maxage(Duration::from_millis(200))
            .tolerance(Duration::from_secs(30));
        let a = Replica::start(server.url(), &ns, config).await;
        let b = Replica::start(server.url(), &ns, config).await;
        let upstream = Upstream::default();
        a.get("ada", &upstream).await.unwrap();
        b.get("ada", &upstream).await.unwrap();
        assert_eq!(upstream.calls(), 1);

        server.stop();
        // Fresh local hits, new keys and failed refreshes all answer, each
        // within the bound (plus scheduling slack on a busy machine).
        let slack = Duration::from_millis(500);
        for replica in [&a, &b] {
            let started = Instant::now();
            assert_eq!(replica.get("ada", &upstream).await.unwrap(), profile("ada"));
            assert!(started.elapsed() < slack);
        }
        for (i, replica) in [&a, &b].into_iter().enumerate() {
            let started = Instant::now();
            let key = format!("new-{i}");
            assert_eq!(replica.get(&key, &upstream).await.unwrap(), profile(&key));
            assert!(started.elapsed() < slack, "{:?}", started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(250)).await; // "ada" expires
        upstream.fail();
        for replica in [&a, &b] {
            let started = Instant::now();
            assert_eq!(
                replica.get("ada", &upstream).await.unwrap(),
                profile("ada"),
                "stale"
            );
            assert!(started.elapsed() < slack);
        }
        assert!(!a.fleet.is_reachable() && !b.fleet.is_reachable());
        assert!(a.fleet.errors() >= 1);

        server.start();
        let started = Instant::now();
        while !(a.fleet.is_reachable() && b.fleet.is_reachable()) {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "reconnected within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let upstream = Upstream::default();
        a.get("grace", &upstream).await.unwrap();
        b.get("grace", &upstream).await.unwrap();
        assert_eq!(upstream.calls(), 1, "sharing resumed");
    });
}

#[tokio::test]
async fn a_malformed_entry_is_a_counted_miss() {
    let server = RedisServer::any();
    let ns = namespace("junk");
    let a = Replica::start(server.url(), &ns, config()).await;
    let upstream = Upstream::default();
    a.get("ada", &upstream).await.unwrap();
    // Overwrite every cache entry of the namespace with junk.
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("resilience:{ns}:cache:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with(&format!("resilience:{ns}:cache:{FUNCTION}:")));
    let junk: &[u8] = b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\x9f\x9f\x9f";
    redis::cmd("SET")
        .arg(&keys[0])
        .arg(junk)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();

    let b = Replica::start(server.url(), &ns, config()).await;
    assert_eq!(b.get("ada", &upstream).await.unwrap(), profile("ada"));
    assert_eq!(upstream.calls(), 2, "the junk was a miss");
    assert_eq!(b.fleet.errors(), 1, "counted");
    // ... and overwritten by the good value.
    let c = Replica::start(server.url(), &ns, config()).await;
    c.get("ada", &upstream).await.unwrap();
    assert_eq!(upstream.calls(), 2);
}

/// Defect 10 of issue 23 (the lease token): the token that says whose a
/// lease is was the fleet connection's, not the flight's, so another flight
/// of the same key on the same connection (a second cache built by hand for
/// the function) released a lease it never held when it wrote its value.
#[tokio::test]
async fn a_flight_releases_only_its_own_lease() {
    let server = RedisServer::any();
    let ns = namespace("own-lease");
    let options = FleetOptions::new().refresh_wait(Duration::from_millis(200));
    let fleet = Fleet::connect_with(server.url(), &ns, options)
        .await
        .unwrap();
    let first: StaleCache<String, Profile> = StaleCache::new(config());
    let second: StaleCache<String, Profile> = StaleCache::new(config());
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let leases = format!("resilience:{ns}:lease:*");

    // The first flight leads, and is still loading while the second one,
    // refused the lease, waits out `refresh_wait` and loads itself.
    let loading = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let first_load = {
        let (loading, release) = (Arc::clone(&loading), Arc::clone(&release));
        async move {
            loading.notify_one();
            release.notified().await;
            Ok::<_, Down>(profile("first"))
        }
    };
    let first_call = first.get_or_load_on(&fleet, "ada".into(), FUNCTION, first_load, describe);
    let second_call = async {
        loading.notified().await;
        let load = async { Ok::<_, Down>(profile("second")) };
        let value = second
            .get_or_load_on(&fleet, "ada".into(), FUNCTION, load, describe)
            .await;
        let held: Vec<String> = redis::cmd("KEYS")
            .arg(&leases)
            .query_async(&mut conn)
            .await
            .unwrap();
        release.notify_one();
        (value, held)
    };
    let (first_value, (second_value, held)) = tokio::join!(first_call, second_call);
    assert_eq!(second_value.unwrap(), profile("second"));
    assert_eq!(
        held.len(),
        1,
        "the first flight's lease outlives the second's write"
    );
    assert_eq!(first_value.unwrap(), profile("first"));
}

/// Redis's count of bytes sent to clients so far.
async fn bytes_sent(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_net_output_bytes:"))
        .and_then(|bytes| bytes.trim().parse().ok())
        .expect("total_net_output_bytes in INFO stats")
}

/// Defect 10 of issue 23 (the follower's reads): a replica waiting for
/// another's refresh read the whole entry every 20 ms while it waited. It
/// now polls the entry's load time, and reads the entry once when it is
/// worth reading.
#[tokio::test]
async fn a_follower_polls_the_load_time_not_the_whole_entry() {
    const LARGE: usize = 256 * 1024;
    let server = RedisServer::spawn(); // its own: the byte count is ours
    let ns = namespace("follow-bytes");
    let options = FleetOptions::new().refresh_wait(Duration::from_millis(500));
    let a = Fleet::connect_with(server.url(), &ns, options.clone())
        .await
        .unwrap();
    let b = Fleet::connect_with(server.url(), &ns, options)
        .await
        .unwrap();
    let config = CacheConfig::new()
        .maxage(Duration::from_millis(50))
        .tolerance(Duration::from_secs(30));
    let first: StaleCache<String, String> = StaleCache::new(config);
    let large = "x".repeat(LARGE);
    let value = large.clone();
    first
        .get_or_load_on(
            &a,
            "k".into(),
            FUNCTION,
            async { Ok::<_, Down>(value) },
            describe,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // stale now

    // a refreshes it and hangs there; b waits for it, `refresh_wait` long.
    let refreshing: StaleCache<String, String> = StaleCache::new(config);
    let loading = Arc::new(tokio::sync::Notify::new());
    let hangs = {
        let loading = Arc::clone(&loading);
        async move {
            loading.notify_one();
            std::future::pending::<Result<String, Down>>().await
        }
    };
    let lead = refreshing.get_or_load_on(&a, "k".into(), FUNCTION, hangs, describe);
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let follower: StaleCache<String, String> = StaleCache::new(config);
    let (sent, served) = tokio::select! {
        _ = lead => panic!("the load hangs"),
        followed = async {
            loading.notified().await;
            let before = bytes_sent(&mut conn).await;
            let served = follower
                .get_or_load_on(&b, "k".into(), FUNCTION, async { Err(Down) }, describe)
                .await;
            (bytes_sent(&mut conn).await - before, served)
        } => followed,
    };
    assert_eq!(served.unwrap(), large, "the stale value, after the wait");
    assert!(
        sent < 3 * LARGE as u64,
        "{} KiB sent for one {} KiB entry while following",
        sent / 1024,
        LARGE / 1024
    );
}
