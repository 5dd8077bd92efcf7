//! The fleet operations against a real `redis-server` (see
//! `tests/fleet/server.rs`): real I/O, so real time, kept short.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use parking_lot::Mutex;

use super::*;

#[path = "../../tests/fleet/server.rs"]
pub(super) mod server;

use server::{RedisServer, namespace};

/// Short waits, and a patient bound: these tests check what the fleet's
/// operations do, not their bound, and a 2-core machine busy building can
/// hold a healthy Redis's answer past 50 ms (the operation then counts as
/// unanswered, and the test would see an outage it did not make).
fn quick() -> FleetOptions {
    FleetOptions::new()
        .refresh_wait(Duration::from_millis(500))
        .refresh_lease(Duration::from_secs(5))
        .operation_timeout(Duration::from_millis(500))
}

async fn pair(server: &RedisServer, test: &str) -> (Fleet, Fleet) {
    pair_with(server, test, quick()).await
}

async fn pair_with(server: &RedisServer, test: &str, options: FleetOptions) -> (Fleet, Fleet) {
    let namespace = namespace(test);
    let a = Fleet::connect_with(server.url(), &namespace, options.clone())
        .await
        .unwrap();
    let b = Fleet::connect_with(server.url(), &namespace, options)
        .await
        .unwrap();
    (a, b)
}

/// `fleet` leads the empty key at `address` and publishes `entry` there
/// (time to live 30 s), as a replica that loaded it does.
pub(super) async fn lead_and_publish(fleet: &Fleet, address: &Address, entry: Vec<u8>) {
    let Acquired::Lead(None, lease) = fleet.acquire(address, A_MINUTE).await else {
        panic!("the first instance leads an empty key");
    };
    assert!(
        fleet
            .publish(address, entry, Duration::from_secs(30), lease.token())
            .await
    );
    lease.published();
}

/// Writes raw bytes under a key, as a hostile or buggy writer would.
async fn poke(server: &RedisServer, key: &str, bytes: &[u8]) {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("SET")
        .arg(key)
        .arg(bytes)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
}

/// A minute: entries written by the test are younger than this.
const A_MINUTE: u64 = 60_000;

/// Ages on one clock, Redis's (issue 23, defect 8): the writer's own
/// clock — here stuck in 1970, as a replica whose clock is wrong — stamps
/// nothing; Redis stamps the value when it takes it, and every reader
/// measures its age against Redis's `TIME`.
#[tokio::test]
async fn a_value_published_by_one_instance_is_fresh_for_another_on_redis_s_clock() {
    let server = RedisServer::any();
    let (a, b) = pair(&server, "publish").await;
    let address = a.address("app::profile", &type_fingerprint::<String>(0), "k1");

    lead_and_publish(
        &a,
        &address,
        encode_entry(&"Ada".to_string(), 5_000).unwrap(),
    )
    .await;

    let Acquired::Fresh(seen) = b.acquire(&address, A_MINUTE).await else {
        panic!("an entry younger than maxage is fresh, whatever the writer's clock said");
    };
    let (value, loaded_at) = decode_entry::<String>(&seen.bytes, 1024).unwrap();
    assert_eq!(value, "Ada");
    assert!(
        loaded_at <= seen.at && seen.at - loaded_at < 5_000,
        "stamped by Redis when written: loaded at {loaded_at}, read at {}",
        seen.at
    );
    // With a maxage of 0 nothing is fresh: the entry is the stale fallback
    // of a new lead.
    let Acquired::Lead(Some(stale), _) = b.acquire(&address, 0).await else {
        panic!("an older entry comes with the lead");
    };
    assert_eq!(codec::loaded_at(&stale.bytes), Some(loaded_at));
}

#[tokio::test]
async fn a_follower_waits_for_the_lease_holder_s_value() {
    let server = RedisServer::any();
    let (a, b) = pair(&server, "follow").await;
    let address = a.address("app::profile", "fp", "k2");
    let Acquired::Lead(None, lease) = a.acquire(&address, A_MINUTE).await else {
        panic!("the first instance leads");
    };

    let publisher = {
        let (a, address) = (a.clone(), address.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            let entry = encode_entry(&7_u32, 10).unwrap();
            assert!(
                a.publish(&address, entry, Duration::from_secs(30), lease.token())
                    .await
            );
            lease.published();
        })
    };
    let Acquired::Fresh(seen) = b.acquire(&address, A_MINUTE).await else {
        panic!("the follower gets the holder's value");
    };
    assert_eq!(decode_entry::<u32>(&seen.bytes, 64).map(|(v, _)| v), Ok(7));
    publisher.await.unwrap();
}

#[tokio::test]
async fn a_holder_that_gives_up_frees_its_followers_before_the_wait_ends() {
    let server = RedisServer::any();
    let (a, b) = pair(&server, "give-up").await;
    let address = a.address("app::profile", "fp", "k3");
    let Acquired::Lead(None, lease) = a.acquire(&address, 0).await else {
        panic!("the first instance leads");
    };
    let giver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        drop(lease);
    });
    let started = std::time::Instant::now();
    assert!(matches!(
        b.acquire(&address, 0).await,
        Acquired::Alone(None)
    ));
    assert!(
        started.elapsed() < quick().refresh_wait_value(),
        "freed early"
    );
    giver.await.unwrap();
    // The lease is free again: the next instance leads.
    assert!(matches!(
        b.acquire(&address, 0).await,
        Acquired::Lead(None, _)
    ));
}

#[tokio::test]
async fn a_malformed_entry_reads_back_as_bytes_that_do_not_decode() {
    let server = RedisServer::any();
    let (a, _) = pair(&server, "malformed").await;
    let address = a.address("app::profile", "fp", "k4");
    poke(&server, &address.entry, b"\x01\0\0\0\0\0\0\0\x09\xff\xfe").await;
    let Acquired::Fresh(seen) = a.acquire(&address, u64::MAX).await else {
        panic!("the header says loaded at 9: fresh for a maxage of ever");
    };
    assert!(decode_entry::<String>(&seen.bytes, 1024).is_err());

    // An oversized entry is read only up to the limit plus one byte.
    let limit = quick().max_entry_bytes_value();
    let mut huge = encode_entry(&0_u8, 9).unwrap();
    huge.resize(limit * 2, 0);
    poke(&server, &address.entry, &huge).await;
    let Acquired::Fresh(seen) = a.acquire(&address, u64::MAX).await else {
        panic!("fresh by its header");
    };
    assert_eq!(seen.bytes.len(), limit + 1);
    assert_eq!(
        decode_entry::<u8>(&seen.bytes, limit),
        Err(codec::Malformed::Oversized)
    );
}

#[tokio::test]
async fn breaker_news_reaches_the_other_instance_and_one_probe_lease_is_out() {
    let server = RedisServer::any();
    let (a, b) = pair(&server, "breaker").await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heard);
    b.watch_breaker("payments", Arc::new(move |signal| log.lock().push(signal)));
    let own = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&own);
    a.watch_breaker(
        "payments",
        Arc::new(move |_| {
            count.fetch_add(1, SeqCst);
        }),
    );
    // Let both subscriptions settle.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let open = Signal::OpenUntil {
        until: 123_456,
        episode: 123_000,
    };
    a.publish_open("payments", 123_456, 123_000, Duration::from_secs(5));
    wait_for(|| heard.lock().contains(&open)).await;
    // A late joiner reads the open key.
    let late = Fleet::connect_with(server.url(), a.namespace(), quick())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    late.watch_breaker("payments", Arc::new(move |signal| log.lock().push(signal)));
    wait_for(|| seen.lock().contains(&open)).await;

    let (a2, b2) = (a.clone(), b.clone());
    let leases = tokio::task::spawn_blocking(move || {
        let first = a2.take_probe_blocking("payments", Duration::from_secs(5));
        let second = b2.take_probe_blocking("payments", Duration::from_secs(5));
        a2.release_probe("payments");
        std::thread::sleep(Duration::from_millis(50));
        let third = b2.take_probe_blocking("payments", Duration::from_secs(5));
        (first, second, third)
    })
    .await
    .unwrap();
    assert_eq!(leases, (true, false, true));

    b.publish_closed("payments", 123_000);
    wait_for(|| heard.lock().len() == 1 && own.load(SeqCst) == 1).await;
    assert_eq!(own.load(SeqCst), 1, "an instance ignores its own news");
}

/// A local call that lost the race for the last probe slot leaves the
/// fleet's probe lease with the local probe that runs: given back, another
/// instance would probe at the same time.
#[tokio::test]
async fn a_call_refused_a_probe_slot_keeps_the_running_probe_s_lease() {
    use crate::breaker::{Breaker, BreakerConfig, State};

    let server = RedisServer::any();
    let (a, b) = pair(&server, "probe-lease").await;
    let config = BreakerConfig::new()
        .open_for(Duration::ZERO)
        .probe_timeout(Duration::from_secs(60))
        .quorum(1);
    let here = Arc::new(Breaker::new("payments", config));
    here.share_on(&a);
    let other_took_it = tokio::task::spawn_blocking(move || {
        here.force_open();
        let probe = here.try_acquire().expect("open_for = 0: a probe");
        assert_eq!(here.state(), State::HalfOpen);
        assert!(here.acquire_after_the_last_slot_went().is_err());
        // A release, had one been sent (not waited for), lands meanwhile.
        std::thread::sleep(Duration::from_millis(50));
        let other_took_it = b.take_probe_blocking("payments", Duration::from_secs(60));
        drop(probe);
        other_took_it
    })
    .await
    .unwrap();
    assert!(!other_took_it, "two instances probe at once");
}

#[tokio::test]
async fn an_outage_is_local_only_within_the_bound_and_sharing_resumes() {
    let mut server = RedisServer::spawn();
    // The default bound: this one is about the bound.
    let options = quick().operation_timeout(FleetOptions::new().operation_timeout_value());
    let (a, _) = pair_with(&server, "outage", options).await;
    let address = a.address("app::profile", "fp", "k5");
    assert!(a.ping().await);

    server.stop();
    let started = std::time::Instant::now();
    assert!(matches!(
        a.acquire(&address, 0).await,
        Acquired::Unavailable
    ));
    // The first failure may wait out the bound (or the reconnect attempt
    // it triggers); calls after it skip Redis at once.
    let first = started.elapsed();
    assert!(first < Duration::from_secs(1), "{first:?}");
    assert!(!a.is_reachable());
    assert!(a.errors() >= 1);
    let started = std::time::Instant::now();
    for _ in 0..100 {
        assert!(matches!(
            a.acquire(&address, 0).await,
            Acquired::Unavailable
        ));
    }
    assert!(started.elapsed() < Duration::from_millis(200));
    let errors = a.errors();

    server.start();
    wait_for(|| a.is_reachable()).await;
    assert!(matches!(
        a.acquire(&address, 0).await,
        Acquired::Lead(None, _)
    ));
    assert_eq!(
        a.errors(),
        errors,
        "an outage counts its failed operations only"
    );
}

#[tokio::test]
async fn a_fleet_whose_redis_is_down_at_start_up_runs_local_only() {
    let mut server = RedisServer::spawn();
    let url = server.url().to_owned();
    server.stop();
    let fleet = Fleet::connect_with(&url, &namespace("down"), quick())
        .await
        .unwrap();
    assert!(!fleet.is_reachable());
    let address = fleet.address("f", "fp", "k");
    assert!(matches!(
        fleet.acquire(&address, 0).await,
        Acquired::Unavailable
    ));
    assert!(!fleet.take_probe_blocking("x", Duration::from_secs(1)) || !fleet.is_reachable());
}

#[tokio::test]
async fn bad_urls_and_namespaces_are_errors_that_say_what_to_write() {
    let url = Fleet::connect("http://example.com", "ns")
        .await
        .unwrap_err();
    assert!(url.to_string().contains("redis://"), "{url}");
    for bad in ["", "a:b", "spa ce", &"x".repeat(65)] {
        let error = Fleet::connect("redis://127.0.0.1:1", bad)
            .await
            .unwrap_err();
        assert!(matches!(error, FleetError::Namespace(_)), "{bad:?}");
    }
}

/// Waits (real time, at most 2 s) until `done`.
async fn wait_for(done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(2), "not within 2 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
