//! `quorum = n`: the fleet opens a breaker on the openings of `n` distinct
//! replicas within `open_for`, and one replica's bad path stays its own.
//! Four breakers of one name on four fleet connections stand for four
//! replicas. Real time, short `open_for`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin, State, StateChange};
use resilience_runtime::fleet::{Fleet, FleetOptions};

use crate::server::{RedisServer, namespace};

const OPEN_FOR: Duration = Duration::from_millis(200);

fn config(quorum: u32) -> BreakerConfig {
    BreakerConfig::new()
        .min_calls(4)
        .failure_rate(0.5)
        .open_for(OPEN_FOR)
        .quorum(quorum)
}

struct Replica {
    breaker: Arc<Breaker>,
    changes: Arc<Mutex<Vec<StateChange>>>,
    fleet: Fleet,
}

impl Replica {
    async fn start(url: &str, namespace: &str, config: BreakerConfig) -> Self {
        // A bound for a machine whose cores are busy with other builds:
        // these tests are about the quorum, not the bound (`faults.rs`
        // and `breaker.rs` hold it to 50 ms). Past it the fleet would run
        // local-only for a while, and drop the votes meanwhile.
        let options = FleetOptions::new().operation_timeout(Duration::from_millis(500));
        let fleet = Fleet::connect_with(url, namespace, options).await.unwrap();
        let breaker = Arc::new(Breaker::new("payments", config));
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

    /// A call through the breaker to a dependency that answers `healthy`
    /// or fails: whether the call succeeded.
    fn call(&self, healthy: bool) -> bool {
        match self.breaker.try_acquire() {
            Ok(permit) => {
                permit.record(!healthy);
                healthy
            }
            Err(_) => false,
        }
    }

    /// Opens on its own evidence: `min_calls` failures.
    fn trip(&self) {
        for _ in 0..4 {
            self.call(false);
        }
        assert_eq!(self.breaker.state(), State::Open);
        assert_eq!(self.breaker.origin(), Origin::Local);
    }

    fn transitions(&self) -> usize {
        self.changes.lock().unwrap().len()
    }
}

async fn fleet_of(quorum: u32, server: &RedisServer, ns: &str) -> [Replica; 4] {
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(Replica::start(server.url(), ns, config(quorum)).await);
    }
    settle().await;
    match replicas.try_into() {
        Ok(replicas) => replicas,
        Err(_) => unreachable!("four replicas"),
    }
}

async fn settle() {
    // The subscriptions are made on the fleet threads: let them land.
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Waits (real time, at most `bound`) until `done`.
async fn within(bound: Duration, what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A connection of the test's own, to look at what the fleet wrote.
struct Look {
    conn: redis::aio::MultiplexedConnection,
    votes: String,
    open: String,
}

impl Look {
    async fn at(server: &RedisServer, ns: &str) -> Self {
        let client = redis::Client::open(server.url()).unwrap();
        Self {
            conn: client.get_multiplexed_async_connection().await.unwrap(),
            votes: format!("resilience:{ns}:breaker-votes:payments"),
            open: format!("resilience:{ns}:breaker-open:payments"),
        }
    }

    async fn votes(&mut self) -> usize {
        redis::cmd("ZCARD")
            .arg(&self.votes)
            .query_async(&mut self.conn)
            .await
            .unwrap_or(0)
    }

    async fn is_open(&mut self) -> bool {
        redis::cmd("EXISTS")
            .arg(&self.open)
            .query_async(&mut self.conn)
            .await
            .unwrap()
    }

    /// Waits (at most 2 s) until the votes number `want`: the votes sent
    /// (not waited for by the breaker) have landed.
    async fn until_votes(&mut self, want: usize) {
        let started = Instant::now();
        loop {
            let votes = self.votes().await;
            if votes == want {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{votes} votes, not {want}, within 2 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// The failure mode of issue 23: one replica sees its dependency fail (its
/// own network path) while three see it healthy. With `quorum = 2` it
/// opens, probes, fails and opens again on its own, again and again; the
/// three others never open and keep calling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_s_bad_path_leaves_the_other_three_calling() {
    let server = RedisServer::any();
    let ns = namespace("quorum-bad-path");
    let [bad, healthy @ ..] = fleet_of(2, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;

    bad.trip();
    look.until_votes(1).await;
    let (mut calls, mut succeeded) = (0_u32, 0_u32);
    let started = Instant::now();
    // Long enough for the bad replica to open, probe and reopen (a vote
    // each time) several times: `open_for` is 200 ms.
    while started.elapsed() < Duration::from_secs(1) || calls < 300 {
        bad.call(false);
        for replica in &healthy {
            calls += 1;
            succeeded += u32::from(replica.call(true));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    let opened_alone = bad
        .changes
        .lock()
        .unwrap()
        .iter()
        .filter(|change| change.to == State::Open)
        .count();
    assert!(
        opened_alone >= 2,
        "the bad replica reopened: {opened_alone}"
    );
    // Its vote, renewed at each reopening (or aged out just now).
    assert!(
        look.votes().await <= 1,
        "one vote at most: the bad replica's"
    );
    assert!(!look.is_open().await, "the fleet never opened");
    assert!(
        f64::from(succeeded) >= 0.99 * f64::from(calls),
        "{succeeded} of {calls} calls of the healthy replicas succeeded"
    );
    for replica in &healthy {
        assert_eq!(replica.transitions(), 0, "a healthy replica moved");
    }
    let errors: u64 = [&bad]
        .into_iter()
        .chain(&healthy)
        .map(|r| r.fleet.errors())
        .sum();
    assert_eq!(errors, 0);
}

/// An outage all four replicas see: the two busiest open on their own
/// evidence, which makes the quorum; the two that call the dependency
/// rarely (too rarely to open on their own within the second) are opened
/// by the fleet. All four are open within a second of the first failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_every_replica_sees_opens_all_four_within_a_second() {
    let server = RedisServer::any();
    let ns = namespace("quorum-outage");
    let replicas = fleet_of(2, &server, &ns).await;
    // Calls per 50 rounds: the busy ones every round, the quiet ones once
    // (4 failures, `min_calls`, would take them 150 rounds or more).
    let every = [1, 1, 50, 50];

    let started = Instant::now();
    let mut round = 0_u32;
    while replicas
        .iter()
        .any(|replica| replica.breaker.state() != State::Open)
    {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "not all four open within 1 s: {:?}",
            replicas
                .iter()
                .map(|r| r.breaker.state())
                .collect::<Vec<_>>()
        );
        for (replica, every) in replicas.iter().zip(every) {
            if round.is_multiple_of(every) {
                replica.call(false);
            }
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let origins: Vec<Origin> = replicas.iter().map(|r| r.breaker.origin()).collect();
    assert_eq!(origins[..2], [Origin::Local, Origin::Local], "{origins:?}");
    assert_eq!(origins[2..], [Origin::Fleet, Origin::Fleet], "{origins:?}");
    // The quiet ones reject at once: the fleet holds it open.
    assert!(!replicas[2].call(true));
}

/// `quorum = 1` is the behaviour without a quorum: one replica's opening
/// opens every replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_1_spreads_one_replica_s_opening_to_all() {
    let server = RedisServer::any();
    let ns = namespace("quorum-1");
    let [first, others @ ..] = fleet_of(1, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;

    first.trip();
    within(Duration::from_secs(1), "the three others open", || {
        others.iter().all(|r| r.breaker.state() == State::Open)
    })
    .await;
    for replica in &others {
        assert_eq!(replica.breaker.origin(), Origin::Fleet);
    }
    assert_eq!(look.votes().await, 0, "no votes are kept for quorum 1");
}

/// Below the quorum each replica's opening is its own: it probes without
/// the fleet's lease (its own path is what the probe tests), and its
/// closing takes its vote back and closes no one else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_quorum_a_replica_probes_and_closes_for_itself_only() {
    let server = RedisServer::any();
    let ns = namespace("quorum-own");
    let [a, b, c, _] = fleet_of(3, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;

    a.trip();
    b.trip();
    look.until_votes(2).await;
    assert_eq!(c.breaker.state(), State::Closed, "2 of 3: no fleet opening");
    assert!(!look.is_open().await);

    // a closes (an operator's reset): its vote is taken back, b stays open.
    a.breaker.reset();
    look.until_votes(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.breaker.state(), State::Open, "a's close is a's alone");
    assert_eq!(b.transitions(), 1);

    a.trip();
    look.until_votes(2).await;
    tokio::time::sleep(OPEN_FOR + Duration::from_millis(20)).await;
    let a_probe = a.breaker.try_acquire().expect("a probes");
    let b_probe = b.breaker.try_acquire().expect("b probes too: no lease");
    a_probe.record(false);
    assert_eq!(a.breaker.state(), State::Closed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.breaker.state(), State::HalfOpen, "a's close is a's alone");
    b_probe.record(true);
    assert_eq!(b.breaker.state(), State::Open, "b's path still fails");
    assert_eq!(c.transitions(), 0);
}

/// Votes count for `open_for` (on Redis's clock): two openings further
/// apart than that are not a quorum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openings_further_apart_than_open_for_make_no_quorum() {
    let server = RedisServer::any();
    let ns = namespace("quorum-apart");
    let [a, b, c, _] = fleet_of(2, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;

    a.trip();
    look.until_votes(1).await;
    // a's vote ages past `open_for` (real time: Redis dates the votes).
    tokio::time::sleep(OPEN_FOR + Duration::from_millis(50)).await;
    b.trip();
    // b's vote is in, a's is dropped: one vote.
    look.until_votes(1).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.breaker.state(), State::Closed);
    assert!(!look.is_open().await);
}

/// Redis is a trust boundary: a votes key of another type is replaced by
/// the next vote (no outage, nothing counted against the fleet), and votes
/// dated ahead of Redis's clock — only a hostile writer dates them so —
/// are dropped, not counted toward the quorum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_junk_votes_key_is_replaced_and_votes_from_the_future_do_not_count() {
    let server = RedisServer::any();
    let ns = namespace("quorum-hostile");
    let [a, b, c, _] = fleet_of(3, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;
    redis::cmd("SET")
        .arg(&look.votes)
        .arg("junk")
        .query_async::<()>(&mut look.conn)
        .await
        .unwrap();

    a.trip();
    look.until_votes(1).await;
    let hour_ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 3_600_000;
    redis::cmd("ZADD")
        .arg(&look.votes)
        .arg(hour_ahead)
        .arg("forged-1")
        .arg(hour_ahead)
        .arg("forged-2")
        .query_async::<()>(&mut look.conn)
        .await
        .unwrap();
    assert_eq!(look.votes().await, 3);
    b.trip();
    // b's vote is in, the forged ones are gone: 2 of 3.
    look.until_votes(2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(c.breaker.state(), State::Closed);
    assert!(!look.is_open().await);
    assert!(a.fleet.is_reachable() && b.fleet.is_reachable());
}

/// The closed path makes no Redis call, with a quorum as without: calls
/// that succeed and fail (below the failure rate) on four replicas send
/// Redis nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_closed_path_makes_no_redis_call() {
    let server = RedisServer::spawn(); // its own: the command counts are ours
    let ns = namespace("quorum-closed");
    let replicas = fleet_of(2, &server, &ns).await;
    let mut look = Look::at(&server, &ns).await;

    let before = commands(&mut look.conn).await;
    for replica in &replicas {
        for call in 0..1_000 {
            // Half fail: a share equal to `failure_rate` does not open.
            replica.call(call % 2 == 0);
        }
        assert_eq!(replica.breaker.state(), State::Closed);
    }
    let after = commands(&mut look.conn).await;
    assert_eq!(before, after, "commands sent while closed");
}

/// Redis's count of commands by name, but for what the test and the
/// listeners' keep-alive send (`INFO`, `PING`).
async fn commands(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| !matches!(name.as_str(), "info" | "ping"))
        .collect()
}

/// With Redis down a replica with a quorum opens on its own evidence, at
/// once, and the others judge alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_replica_opens_alone_without_waiting() {
    let mut server = RedisServer::spawn();
    let ns = namespace("quorum-down");
    let [a, b, ..] = fleet_of(2, &server, &ns).await;
    server.stop();

    let started = Instant::now();
    a.trip();
    a.trip_again_after_open_for().await;
    assert!(
        started.elapsed() < OPEN_FOR + Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(b.breaker.state(), State::Closed);
    assert!(b.call(true));
}

impl Replica {
    /// After `open_for`, a probe (its own: no lease without Redis) that
    /// fails opens it again.
    async fn trip_again_after_open_for(&self) {
        tokio::time::sleep(OPEN_FOR + Duration::from_millis(20)).await;
        self.breaker
            .try_acquire()
            .expect("a probe of its own")
            .record(true);
        assert_eq!(self.breaker.state(), State::Open);
    }
}

/// The longest `open_for` there is still votes and opens the fleet: the
/// times the script computes on Redis's clock are clamped, not overflowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_open_for_still_makes_a_quorum() {
    let server = RedisServer::any();
    let ns = namespace("quorum-longest");
    let longest = config(2).open_for(Duration::MAX);
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Replica::start(server.url(), &ns, longest).await);
    }
    settle().await;

    replicas[0].trip();
    replicas[1].trip();
    within(Duration::from_secs(1), "the third opens", || {
        replicas[2].breaker.state() == State::Open
    })
    .await;
    assert_eq!(replicas[2].breaker.origin(), Origin::Fleet);
    let errors: u64 = replicas.iter().map(|r| r.fleet.errors()).sum();
    assert_eq!(errors, 0);
}
