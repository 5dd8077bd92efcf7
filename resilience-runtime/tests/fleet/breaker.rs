//! Breakers sharing their state over the fleet: two breakers of one name on
//! two fleet connections stand for two replicas. Real time, short
//! `open_for`. Quorum 1: one replica's opening opens the others, the
//! behaviour these tests pin down (a quorum above 1: `quorum.rs`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin, State, StateChange};
use resilience_runtime::fleet::Fleet;

use crate::server::{RedisServer, namespace};

const OPEN_FOR: Duration = Duration::from_millis(300);

fn config() -> BreakerConfig {
    BreakerConfig::new()
        .min_calls(2)
        .failure_rate(0.5)
        .open_for(OPEN_FOR)
        .quorum(1)
}

struct Replica {
    breaker: Arc<Breaker>,
    changes: Arc<Mutex<Vec<StateChange>>>,
    fleet: Fleet,
}

impl Replica {
    async fn start(url: &str, namespace: &str) -> Self {
        let fleet = Fleet::connect(url, namespace).await.unwrap();
        let breaker = Arc::new(Breaker::new("payments", config()));
        let changes = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&changes);
        breaker.on_state_change(move |change| log.lock().unwrap().push(*change));
        breaker.share_on(&fleet);
        Self {
            breaker,
            changes,
            fleet,
        }
    }

    fn trip(&self) {
        for _ in 0..2 {
            self.breaker.try_acquire().unwrap().record(true);
        }
        assert_eq!(self.breaker.state(), State::Open);
    }

    fn last(&self) -> Option<StateChange> {
        self.changes.lock().unwrap().last().copied()
    }
}

/// Waits (real time, at most 1 s: the promise) until `done`.
async fn within_a_second(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{what}: not within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits (at most 1 s) until the fleet holds "payments" open in Redis.
async fn open_key_exists(server: &RedisServer, ns: &str) {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("resilience:{ns}:breaker-open:payments");
    let started = Instant::now();
    while !redis::cmd("EXISTS")
        .arg(&key)
        .query_async::<bool>(&mut conn)
        .await
        .unwrap()
    {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "published within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn settle() {
    // The subscriptions are made on the fleet threads: let them land.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_breaker_opened_on_one_replica_opens_on_the_other_and_one_probe_closes_both() {
    let server = RedisServer::any();
    let ns = namespace("breaker");
    let a = Replica::start(server.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    settle().await;

    a.trip();
    assert_eq!(a.breaker.origin(), Origin::Local);
    within_a_second("b opens", || b.breaker.state() == State::Open).await;
    assert_eq!(b.breaker.origin(), Origin::Fleet);
    let opened = b.last().unwrap();
    assert_eq!((opened.to, opened.origin), (State::Open, Origin::Fleet));
    assert!(b.breaker.try_acquire().is_err(), "b rejects while open");

    tokio::time::sleep(OPEN_FOR + Duration::from_millis(20)).await;
    let probe = a.breaker.try_acquire().expect("a probes");
    assert_eq!(a.breaker.state(), State::HalfOpen);
    assert!(
        b.breaker.try_acquire().is_err(),
        "one probe across the fleet"
    );
    assert_eq!(b.breaker.state(), State::Open);

    probe.record(false);
    assert_eq!(a.breaker.state(), State::Closed);
    within_a_second("b closes", || b.breaker.state() == State::Closed).await;
    let closed = b.last().unwrap();
    assert_eq!((closed.to, closed.origin), (State::Closed, Origin::Fleet));
    assert!(b.breaker.try_acquire().is_ok());
    assert_eq!(a.fleet.errors() + b.fleet.errors(), 0);
}

#[tokio::test]
async fn a_failed_probe_reopens_every_replica() {
    let server = RedisServer::any();
    let ns = namespace("reopen");
    let a = Replica::start(server.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    settle().await;

    b.trip();
    within_a_second("a opens", || a.breaker.state() == State::Open).await;
    tokio::time::sleep(OPEN_FOR + Duration::from_millis(20)).await;
    let probe = b.breaker.try_acquire().expect("b probes");
    let opened_before = a.changes.lock().unwrap().len();
    probe.record(true);
    assert_eq!(b.breaker.state(), State::Open);
    // a was open already; it hears a later "open until", and stays open
    // past its own first `open_for`.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(a.breaker.try_acquire().is_err());
    assert_eq!(
        a.changes.lock().unwrap().len(),
        opened_before,
        "no new transition"
    );
}

#[tokio::test]
async fn a_late_replica_reads_an_open_breaker_when_it_starts_sharing() {
    let server = RedisServer::any();
    let ns = namespace("late");
    let a = Replica::start(server.url(), &ns).await;
    settle().await;
    a.trip();
    // The publish lands (not waited for by `trip`; on a busy machine it
    // once took more than the 50 ms this test slept).
    open_key_exists(&server, &ns).await;
    let late = Replica::start(server.url(), &ns).await;
    within_a_second("the late one opens", || late.breaker.state() == State::Open).await;
}

#[tokio::test]
async fn without_redis_each_breaker_judges_alone_and_never_waits_past_the_bound() {
    let mut server = RedisServer::spawn();
    let ns = namespace("breaker-down");
    let a = Replica::start(server.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    settle().await;
    server.stop();

    let started = Instant::now();
    a.trip();
    tokio::time::sleep(OPEN_FOR + Duration::from_millis(20)).await;
    assert_eq!(b.breaker.state(), State::Closed, "no news without Redis");
    // Half-open: the probe lease cannot be asked for; a probes on its own.
    let probe = a.breaker.try_acquire().expect("a probes alone");
    probe.record(false);
    assert_eq!(a.breaker.state(), State::Closed);
    assert!(started.elapsed() < OPEN_FOR + Duration::from_millis(600));
    assert!(b.breaker.try_acquire().is_ok());
}

#[tokio::test]
async fn after_redis_restarts_an_opening_reaches_the_other_replica_again() {
    let mut server = RedisServer::spawn();
    let ns = namespace("breaker-restart");
    let a = Replica::start(server.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    settle().await;
    server.stop();
    assert!(!a.fleet.ping().await, "the outage is noticed");
    server.start();

    let started = Instant::now();
    while !(a.fleet.ping().await && b.fleet.ping().await) {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "reconnected within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while !a.fleet.is_reachable() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the outage ended within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.trip();
    // b hears it by pub/sub once resubscribed, or reads the open key when
    // it resubscribes: either way, without a call of its own.
    while b.breaker.state() != State::Open {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "b opened within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b.breaker.origin(), Origin::Fleet);
}

/// Defect 3 of issue 23: an "open until T" from the fleet was followed to
/// T, however far: a replica with a longer `open_for` (or a clock running
/// ahead, or a hostile writer) kept every replica open and never probing.
/// A replica stays open at most its own `open_for` past the moment it
/// heard of an opening, whether by message or by reading the open key.
#[tokio::test]
async fn an_opening_from_the_fleet_lasts_at_most_this_replica_s_open_for() {
    let server = RedisServer::any();
    let ns = namespace("open-bound");
    let b = Replica::start(server.url(), &ns).await;
    let x_fleet = Fleet::connect(server.url(), &ns).await.unwrap();
    let x = Arc::new(Breaker::new(
        "payments",
        config().open_for(Duration::from_secs(3600)),
    ));
    x.share_on(&x_fleet);
    settle().await;

    for _ in 0..2 {
        x.try_acquire().unwrap().record(true);
    }
    assert_eq!(x.state(), State::Open);
    within_a_second("b opens", || b.breaker.state() == State::Open).await;
    let opened = Instant::now();
    // A replica that starts now reads the open key instead.
    let late = Replica::start(server.url(), &ns).await;
    within_a_second("the late one opens", || late.breaker.state() == State::Open).await;
    let late_opened = Instant::now();

    tokio::time::sleep(OPEN_FOR.saturating_sub(opened.elapsed()) + Duration::from_millis(20)).await;
    b.breaker
        .try_acquire()
        .expect("b probes after its own open_for, not x's hour")
        .record(false);
    assert_eq!(b.breaker.state(), State::Closed);
    tokio::time::sleep(OPEN_FOR.saturating_sub(late_opened.elapsed()) + Duration::from_millis(20))
        .await;
    assert!(
        late.breaker.state() == State::Closed || late.breaker.try_acquire().is_ok(),
        "the late one probes (or heard b close) after its own open_for"
    );
}

/// Defect 3 of issue 23: a "closed" message closed whatever was open, so a
/// close of an older opening, arriving late, cancelled a newer one. A
/// close names the opening it ends (its episode).
#[tokio::test]
async fn a_close_of_an_older_opening_leaves_a_newer_one_open() {
    let server = RedisServer::any();
    let ns = namespace("old-close");
    let b = Replica::start(server.url(), &ns).await;
    settle().await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = format!("resilience:{ns}:breakers");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;

    b.breaker.force_open();
    // The close of an opening ten seconds old, delivered late.
    redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(format!("ffffffffffffffff closed {} payments", now - 10_000))
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.breaker.state(), State::Open, "an old close is ignored");
    // The close of this opening (or a later one) closes it.
    redis::cmd("PUBLISH")
        .arg(&channel)
        .arg(format!("ffffffffffffffff closed {} payments", now + 10_000))
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    within_a_second("b closes", || b.breaker.state() == State::Closed).await;
}

/// Defect 12 of issue 23: a replica started while the fleet held a breaker
/// open let its first call through, and only then read the breaker as
/// open. Its first call now decides knowing the fleet's state.
#[tokio::test]
async fn a_replica_started_while_the_fleet_holds_a_breaker_open_rejects_its_first_call() {
    let server = RedisServer::any();
    let ns = namespace("first-call");
    let b = Replica::start(server.url(), &ns).await;
    b.trip();
    // The opening reaches Redis (not waited for by `trip`).
    open_key_exists(&server, &ns).await;

    // A new process: connect, then its first call, at once.
    let fleet = Fleet::connect(server.url(), &ns).await.unwrap();
    let breaker = Arc::new(Breaker::new("payments", config()));
    breaker.share_on(&fleet);
    assert!(
        breaker.try_acquire().is_err(),
        "the first call is rejected: the fleet holds the breaker open"
    );
    assert_eq!(breaker.origin(), Origin::Fleet);
}

/// Episodes are wall times, and clocks differ: a replica whose clock lags
/// the one that closed the last opening must still spread its own next
/// opening. Its episode is later than any it knows of, whatever its clock,
/// and an episode heard from far ahead (up to `u64::MAX`) counts as a
/// second ahead: it silences later openings for a second at most.
#[tokio::test]
async fn an_opening_after_a_close_from_a_clock_ahead_still_spreads() {
    let server = RedisServer::any();
    let ns = namespace("lagging-clock");
    let a = Replica::start(server.url(), &ns).await;
    let b = Replica::start(server.url(), &ns).await;
    settle().await;
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let an_hour_ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    // A close from a replica whose clock runs an hour ahead, and one that
    // claims the last episode there can be.
    for episode in [an_hour_ahead, u64::MAX] {
        redis::cmd("PUBLISH")
            .arg(format!("resilience:{ns}:breakers"))
            .arg(format!("ffffffffffffffff closed {episode} payments"))
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    // Past that second (with half a second for the closes to arrive, on a
    // busy machine): b's opening is later than any close a heard, whether
    // or not b heard them itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    b.trip();
    within_a_second("a opens", || a.breaker.state() == State::Open).await;
}
