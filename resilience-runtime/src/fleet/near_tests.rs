//! A shared-cache read on the caller's runtime, against a real
//! `redis-server` (and the fault proxy): it serves a fresh entry without
//! the fleet thread, keeps its bound on real time under a paused clock,
//! is counted like any read when Redis hangs, and steps aside for a
//! runtime that replaced its own or one without I/O.

use std::time::{Duration, Instant};

use super::near::{has_near, runtimes_without_io};
use super::*;

#[path = "../../tests/fleet/proxy.rs"]
mod proxy;
use super::tests::lead_and_publish;
use super::tests::server::{RedisServer, namespace};
use proxy::Proxy;

/// A patient bound (a busy 2-core machine), except where the test is
/// about the bound.
fn patient() -> FleetOptions {
    FleetOptions::new().operation_timeout(Duration::from_millis(500))
}

/// Instance `a` publishes "Ada" under a key; instance `b`, connected to
/// `url`, is the one under test. Returns `b` and the key's address.
async fn published(
    server: &RedisServer,
    url: &str,
    test: &str,
    b: FleetOptions,
) -> (Fleet, Address) {
    let namespace = namespace(test);
    let a = Fleet::connect_with(server.url(), &namespace, patient())
        .await
        .unwrap();
    let b = Fleet::connect_with(url, &namespace, b).await.unwrap();
    let address = a.address("app::profile", &type_fingerprint::<String>(0), "k");
    lead_and_publish(&a, &address, encode_entry(&"Ada".to_string(), 0).unwrap()).await;
    (b, address)
}

/// Reads the key until this thread's connection to `fleet` is ready (each
/// read served, through the fleet thread meanwhile); at most `limit` of
/// real time.
async fn until_near(fleet: &Fleet, address: &Address, limit: Duration) {
    let started = Instant::now();
    loop {
        assert!(matches!(
            fleet.acquire(address, 60_000).await,
            Acquired::Fresh(_)
        ));
        if has_near(&fleet.inner.link) {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "no connection of this thread within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The fleet thread stalled, a fresh entry is still served: the read ran
/// on the caller's runtime. (Through the fleet thread the caller would get
/// nothing, past the bound and its slack.)
#[tokio::test]
async fn a_fresh_entry_is_read_on_the_callers_runtime_not_the_fleet_thread() {
    let server = RedisServer::any();
    let (b, address) = published(&server, server.url(), "near-fresh", patient()).await;
    until_near(&b, &address, Duration::from_secs(2)).await;

    let stalled = b.inner.link.stall();
    let answer = b.acquire(&address, 60_000).await;
    drop(stalled);
    let Acquired::Fresh(seen) = answer else {
        panic!("read on this thread, not the stalled one: {answer:?}");
    };
    assert_eq!(decode_entry::<String>(&seen.bytes, 1024).unwrap().0, "Ada");
    assert!(!b.inner.link.health.is_down());
}

/// On a paused clock, which jumps ahead whenever the runtime idles on
/// I/O: the read has no timer there, so it is never cut short.
#[tokio::test(start_paused = true)]
async fn a_read_on_a_paused_clock_is_not_cut_short() {
    let server = RedisServer::any();
    let (b, address) = published(&server, server.url(), "near-paused", patient()).await;
    until_near(&b, &address, Duration::from_secs(2)).await;
    for _ in 0..20 {
        let answer = b.acquire(&address, 60_000).await;
        assert!(matches!(answer, Acquired::Fresh(_)), "{answer:?}");
    }
    assert!(has_near(&b.inner.link), "read on this thread");
    assert!(
        !b.inner.link.health.is_down(),
        "no read counted as unanswered"
    );
}

/// Redis stops answering on the caller's connection: the read ends at the
/// bound (real time, the caller's clock paused) and counts as a failure:
/// an outage starts.
#[tokio::test(start_paused = true)]
async fn a_hung_read_ends_at_the_bound_and_starts_an_outage() {
    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let bound = FleetOptions::new().operation_timeout(Duration::from_millis(100));
    let (b, address) = published(&server, &proxy.url(), "near-hung", bound).await;
    until_near(&b, &address, Duration::from_secs(2)).await;

    proxy.hang_existing();
    let started = Instant::now();
    let answer = b.acquire(&address, 60_000).await;
    let waited = started.elapsed();
    assert!(matches!(answer, Acquired::Unavailable), "{answer:?}");
    assert!(
        waited >= Duration::from_millis(100),
        "the bound: {waited:?}"
    );
    assert!(
        waited < Duration::from_millis(600),
        "the bound, not more: {waited:?}"
    );
    assert!(b.inner.link.health.is_down(), "counted: an outage");
}

/// The connection closed under the caller (a restart, a proxy that drops
/// it): no read fails a call or waits past its bound, the closed
/// connection is let go, and the thread makes a new one that serves reads
/// again, the fleet thread stalled.
#[tokio::test]
async fn a_closed_connection_is_let_go_and_made_again() {
    let server = RedisServer::any();
    let proxy = Proxy::to(server.url());
    let (b, address) = published(&server, &proxy.url(), "near-closed", patient()).await;
    until_near(&b, &address, Duration::from_secs(2)).await;

    proxy.close_existing();
    tokio::time::sleep(Duration::from_millis(20)).await; // the proxy's poll
    let started = Instant::now();
    loop {
        let read = Instant::now();
        let answer = b.acquire(&address, 60_000).await;
        // The bound (500 ms) once on this thread, once on the fleet's.
        assert!(
            read.elapsed() < Duration::from_secs(2),
            "{:?}",
            read.elapsed()
        );
        match answer {
            Acquired::Fresh(_) | Acquired::Unavailable => {}
            other => panic!("a fresh entry or nothing: {other:?}"),
        }
        if has_near(&b.inner.link) && matches!(answer, Acquired::Fresh(_)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not made again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stalled = b.inner.link.stall();
    let answer = b.acquire(&address, 60_000).await;
    drop(stalled);
    assert!(
        matches!(answer, Acquired::Fresh(_)),
        "read on the new connection: {answer:?}"
    );
}

/// A thread that ran one runtime and now runs another (tests one after
/// another on one thread): the first one's connection died with it; the
/// new runtime makes its own at once, and nothing counts as a failure.
#[test]
fn a_new_runtime_on_the_same_thread_makes_its_own_connection() {
    let server = RedisServer::any();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    let first = runtime();
    let (b, address) = first.block_on(published(&server, server.url(), "near-runtimes", patient()));
    first.block_on(until_near(&b, &address, Duration::from_secs(2)));
    drop(first);

    let second = runtime();
    // Its first read starts a connect; a connection of the dropped
    // runtime, were it used, would fail and hold the next for a second.
    second.block_on(until_near(&b, &address, Duration::from_millis(900)));
    assert!(!b.inner.link.health.is_down());
}

/// A runtime built without I/O cannot drive a connection: its reads go
/// through the fleet thread, and it is not asked again.
#[test]
fn a_runtime_without_io_reads_through_the_fleet_thread() {
    let server = RedisServer::any();
    let with_io = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (b, address) = with_io.block_on(published(&server, server.url(), "near-no-io", patient()));
    let without_io = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let id = without_io.handle().id();
    let started = Instant::now();
    while !runtimes_without_io().contains(&id) {
        let answer = without_io.block_on(b.acquire(&address, 60_000));
        assert!(matches!(answer, Acquired::Fresh(_)), "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "never found out"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..5 {
        let answer = without_io.block_on(b.acquire(&address, 60_000));
        assert!(matches!(answer, Acquired::Fresh(_)), "{answer:?}");
    }
    assert!(!has_near(&b.inner.link));
}
