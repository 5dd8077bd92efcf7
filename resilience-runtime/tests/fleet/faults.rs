//! Faults between a replica and Redis, through [`Proxy`]: connections that
//! hang, and a failover to another server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig};
use resilience_runtime::fleet::Fleet;
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};

use crate::proxy::Proxy;
use crate::server::{RedisServer, namespace};

const FUNCTION: &str = "app::faults";

fn describe(_: &(), f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("down")
}

/// A replica's cache on a fleet connection of its own.
struct Replica {
    fleet: Fleet,
    calls: Arc<AtomicUsize>,
}

impl Replica {
    async fn start(url: &str, namespace: &str) -> Self {
        Self {
            fleet: Fleet::connect(url, namespace).await.unwrap(),
            calls: Arc::default(),
        }
    }

    /// `key` through a new, empty local cache: Redis is asked every time.
    async fn get(&self, key: &str) -> String {
        let cache: StaleCache<String, String> = StaleCache::new(CacheConfig::new());
        let calls = Arc::clone(&self.calls);
        let value = format!("value of {key}");
        let load = async move {
            calls.fetch_add(1, SeqCst);
            Ok(value)
        };
        cache
            .get_or_load_on(&self.fleet, key.into(), FUNCTION, load, describe)
            .await
            .unwrap()
    }

    fn calls(&self) -> usize {
        self.calls.load(SeqCst)
    }
}

/// The breaker the breaker tests share: it opens after 2 failed calls,
/// for 30 s, on one replica's word (a quorum of one).
fn payments() -> BreakerConfig {
    BreakerConfig::new()
        .min_calls(2)
        .open_for(Duration::from_secs(30))
        .quorum(1)
}

/// A replica's `payments` breaker, shared on its `fleet`.
fn payments_on(fleet: &Fleet) -> Arc<Breaker> {
    let breaker = Arc::new(Breaker::new("payments", payments()));
    breaker.share_on(fleet);
    breaker
}

/// Waits (real time) at most `limit` until `done`.
async fn within(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Defect 4 of issue 23: a connection that hangs (no reply, no FIN) kept
/// the replica local-only until the kernel gave up on it, minutes later:
/// nothing rebuilt it. A failed ping now rebuilds the connection.
#[tokio::test]
async fn a_hung_connection_is_replaced_and_sharing_resumes() {
    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let ns = namespace("hung");
    let a = Replica::start(&proxy.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    a.get("before").await;
    assert_eq!(b.get("before").await, "value of before");
    assert_eq!(b.calls(), 0, "shared through the proxy");

    proxy.hang_existing();
    let started = Instant::now();
    a.get("during").await;
    assert!(started.elapsed() < Duration::from_secs(1), "bounded");
    assert!(!a.fleet.is_reachable(), "the hang is noticed");

    // New connections pass: the replica must open one.
    within(Duration::from_secs(3), "a is reachable again", || {
        a.fleet.is_reachable()
    })
    .await;
    b.get("after").await;
    assert_eq!(a.get("after").await, "value of after");
    assert_eq!(a.calls(), 2, "read from Redis: sharing resumed");
}

/// Defect 4 of issue 23: after a failover the old primary, demoted to a
/// replica, answers writes with `READONLY`; nothing made the replica
/// reconnect (to the address that now leads to the new primary).
#[tokio::test]
async fn a_readonly_answer_makes_the_replica_reconnect() {
    let old = RedisServer::spawn();
    let new = RedisServer::spawn();
    let proxy = Proxy::to(old.url());
    let ns = namespace("readonly");
    let a = Replica::start(&proxy.url(), &ns).await;
    a.get("before").await;

    // Failover: the old primary follows the new one; the address now
    // leads to the new primary, for new connections.
    let client = redis::Client::open(old.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let new_port = new.url().rsplit(':').next().unwrap().to_owned();
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(&new_port)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    proxy.switch_to(new.url());

    // Writes to the old node fail (READONLY) until a reconnect.
    let b = Replica::start(new.url(), &ns).await;
    let started = Instant::now();
    loop {
        a.get(&format!("k{}", a.calls())).await;
        let key = format!("k{}", a.calls() - 1);
        if b.get(&key).await == format!("value of {key}") && b.calls() == 0 {
            break;
        }
        // b loaded it itself: a's write did not reach the new primary.
        b.calls.store(0, SeqCst);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a writes to the new primary within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Defect 4 of issue 23: the breaker news listener had no timeout, so on a
/// connection that hangs the news stopped silently: an opening elsewhere
/// never reached this replica. A silent listener pings, and subscribes
/// again (and reads the open keys) when the ping goes unanswered.
#[tokio::test]
async fn a_silent_listener_subscribes_again_and_hears_the_fleet() {
    use resilience_runtime::breaker::State;

    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let ns = namespace("silent");
    let a_fleet = Fleet::connect(&proxy.url(), &ns).await.unwrap();
    let a = payments_on(&a_fleet);
    let b_fleet = Fleet::connect(server.url(), &ns).await.unwrap();
    let b = payments_on(&b_fleet);
    tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land

    proxy.hang_existing();
    for _ in 0..2 {
        b.try_acquire().unwrap().record(true);
    }
    assert_eq!(b.state(), State::Open);
    within(Duration::from_secs(5), "a hears of the opening", || {
        a.state() == State::Open
    })
    .await;
}

/// Defect 9 of issue 23 (in part): the async shared path wrote the loaded
/// value to Redis before it answered the callers waiting in this process
/// for the same key, so a slow Redis delayed all of them. They are now
/// answered as soon as the load is done; only the leading call waits for
/// the write (within the operation bound).
#[tokio::test]
async fn waiters_in_the_process_are_answered_before_the_write_to_redis() {
    use resilience_runtime::fleet::FleetOptions;

    const LATENCY: Duration = Duration::from_millis(300);
    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let ns = namespace("answer-first");
    let options = FleetOptions::new().operation_timeout(Duration::from_secs(5));
    let fleet = Fleet::connect_with(&proxy.url(), &ns, options)
        .await
        .unwrap();
    let cache: Arc<StaleCache<String, String>> = Arc::new(StaleCache::new(CacheConfig::new()));
    proxy.set_latency(LATENCY);

    let loaded_at = Arc::new(parking_lot::Mutex::new(None::<Instant>));
    let lead = {
        let (cache, fleet, loaded_at) = (Arc::clone(&cache), fleet.clone(), Arc::clone(&loaded_at));
        tokio::spawn(async move {
            let load = async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                *loaded_at.lock() = Some(Instant::now());
                Ok::<_, ()>("loaded".to_string())
            };
            cache
                .get_or_load_on(&fleet, "k".into(), FUNCTION, load, describe)
                .await
        })
    };
    // A second caller of the same key boards the leader's flight.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waiter = cache
        .get_or_load_on(&fleet, "k".into(), FUNCTION, async { Err(()) }, describe)
        .await;
    let answered = Instant::now();
    assert_eq!(waiter.unwrap(), "loaded");
    let loaded = loaded_at.lock().expect("the leader loaded");
    let waited = answered.saturating_duration_since(loaded);
    assert!(
        waited < LATENCY / 2,
        "the waiter was answered {waited:?} after the load, behind the write to Redis"
    );
    assert_eq!(lead.await.unwrap().unwrap(), "loaded");
}

/// Defect 9 of issue 23 (in part): the breaker's state-change listeners
/// (user code) ran on the fleet's one I/O thread when news came from the
/// fleet, so a slow listener held up every Redis operation of the process.
#[tokio::test]
async fn a_slow_state_change_listener_delays_no_redis_operation() {
    use resilience_runtime::breaker::State;

    let server = RedisServer::any();
    let ns = namespace("slow-listener");
    let a = Replica::start(server.url(), &ns).await;
    let here = Arc::new(Breaker::new("payments", payments()));
    here.on_state_change(|_| std::thread::sleep(Duration::from_secs(2)));
    here.share_on(&a.fleet);
    let b_fleet = Fleet::connect(server.url(), &ns).await.unwrap();
    let there = payments_on(&b_fleet);
    tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land

    for _ in 0..2 {
        there.try_acquire().unwrap().record(true);
    }
    within(Duration::from_secs(1), "the news arrives", || {
        here.state() == State::Open
    })
    .await;
    // The listener sleeps now; the fleet goes on answering.
    let started = Instant::now();
    assert!(a.fleet.ping().await, "Redis answers");
    a.get("k").await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "Redis operations waited {:?} behind a listener",
        started.elapsed()
    );
}

/// Issue 23, item 9: a shared breaker past its `open_for` took the fleet's
/// probe lease with a blocking Redis call, on the caller's thread — an
/// async runtime's worker, stalled for up to the operation bound while
/// every task on it waited. `Breaker::acquire` awaits the lease instead:
/// on a one-thread runtime another task keeps running meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn an_async_probe_lease_leaves_the_runtime_s_thread_free() {
    use resilience_runtime::breaker::State;

    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let fleet = Fleet::connect(&proxy.url(), &namespace("lease"))
        .await
        .unwrap();
    let open_for = Duration::from_millis(100);
    // One replica's opening is the fleet's (quorum 1): its probe needs the
    // fleet's lease.
    let config = BreakerConfig::new()
        .min_calls(2)
        .failure_rate(0.5)
        .open_for(open_for)
        .quorum(1);
    let breaker = Arc::new(Breaker::new("payments", config));
    breaker.share_on(&fleet);
    for _ in 0..2 {
        breaker.try_acquire().unwrap().record(true);
    }
    assert_eq!(breaker.state(), State::Open);
    tokio::time::sleep(open_for + Duration::from_millis(20)).await;

    // Each request and each reply 40 ms late: the lease's answer takes the
    // whole bound (50 ms).
    proxy.set_latency(Duration::from_millis(40));
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticking = Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            ticking.fetch_add(1, SeqCst);
        }
    });
    tokio::task::yield_now().await;
    let before = ticks.load(SeqCst);
    let started = Instant::now();
    let permit = breaker.acquire().await;
    let waited = started.elapsed();
    let during = ticks.load(SeqCst) - before;
    ticker.abort();

    assert!(permit.is_ok(), "no answer in time: it probes on its own");
    assert!(
        waited >= Duration::from_millis(30),
        "it asked Redis: {waited:?}"
    );
    assert!(
        during >= 3,
        "the thread ran {during} ticks of 1 ms while the lease took {waited:?}"
    );
}

/// Found by the fault matrix (issue 23): after a failover the breaker news
/// listener stayed subscribed on the demoted node, which still answers its
/// pings: the fleet's connection was replaced on the first `READONLY`, the
/// listener's never was. An opening published on the new primary before
/// the demoted node caught up with it (5 s and more: Redis's diskless sync
/// waits 5 s by default) was never heard, and never read back. The listener
/// now subscribes again when the fleet's connection is replaced.
#[tokio::test]
async fn after_a_failover_the_listener_hears_the_new_primary() {
    use resilience_runtime::breaker::State;

    let old = RedisServer::spawn();
    let new = RedisServer::spawn();
    let proxy = Proxy::to(old.url());
    let ns = namespace("failover-news");
    let a = Replica::start(&proxy.url(), &ns).await;
    let here = payments_on(&a.fleet);
    tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land

    let client = redis::Client::open(old.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let new_port = new.url().rsplit(':').next().unwrap().to_owned();
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(&new_port)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    proxy.switch_to(new.url());
    // A write of this replica meets READONLY: its connection is replaced.
    a.get("k").await;

    let b_fleet = Fleet::connect(new.url(), &ns).await.unwrap();
    let there = payments_on(&b_fleet);
    for _ in 0..2 {
        there.try_acquire().unwrap().record(true);
    }
    assert_eq!(there.state(), State::Open);
    within(
        Duration::from_secs(3),
        "the opening on the new primary is heard",
        || here.state() == State::Open,
    )
    .await;
}

/// Defect 4 of issue 23: a blackhole swallows the listener's connection
/// and every new one it makes while it holds. Each attempt to subscribe
/// again must give up within its bound (connect and `SUBSCRIBE` both), so
/// that the first attempt after the path heals gets through and breaker
/// news comes back.
#[tokio::test]
async fn a_listener_that_subscribes_into_a_blackhole_tries_again_when_it_heals() {
    use resilience_runtime::breaker::State;

    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let ns = namespace("blackhole-news");
    let a_fleet = Fleet::connect(&proxy.url(), &ns).await.unwrap();
    let a = payments_on(&a_fleet);
    tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land

    // Long enough for the listener to notice the silence (1.5 s) and
    // subscribe again on a new connection, which the blackhole swallows.
    proxy.set_blackhole(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.heal();

    let b_fleet = Fleet::connect(server.url(), &ns).await.unwrap();
    let b = payments_on(&b_fleet);
    for _ in 0..2 {
        b.try_acquire().unwrap().record(true);
    }
    assert_eq!(b.state(), State::Open);
    within(Duration::from_secs(4), "a hears of the opening", || {
        a.state() == State::Open
    })
    .await;
}
