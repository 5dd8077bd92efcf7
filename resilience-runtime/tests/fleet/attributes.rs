//! `shared = true` on the attributes, through the process's fleet
//! (`fleet::connect`, once per process: so one test, in steps). Another
//! fleet connection with a cache or breaker built by hand stands for a
//! second replica.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig, Origin, State, registry};
use resilience_runtime::fleet::{self, Fleet};
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
use resilience_runtime::{CircuitOpen, breaker, stale_cache};
use serde::{Deserialize, Serialize};

use crate::server::{RedisServer, namespace};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
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

static PROFILE_CALLS: AtomicUsize = AtomicUsize::new(0);
static LIMIT_CALLS: AtomicUsize = AtomicUsize::new(0);
static RATE_VERSION: AtomicUsize = AtomicUsize::new(1);
static QUOTA_VERSION: AtomicUsize = AtomicUsize::new(1);

#[stale_cache(maxage = 3, tolerance = 15, shared = true)]
async fn fetch_user_profile(user_id: String) -> Result<Profile, ApiError> {
    PROFILE_CALLS.fetch_add(1, SeqCst);
    Ok(Profile { name: user_id })
}

#[stale_cache(maxage = 3, tolerance = 15, shared = true)]
fn load_limit(tenant: &str) -> Result<u32, ApiError> {
    LIMIT_CALLS.fetch_add(1, SeqCst);
    Ok(tenant.len() as u32)
}

/// Real time: expired after 200 ms, and refreshed behind the stale value.
#[stale_cache(
    maxage = "200ms",
    tolerance = 30,
    refresh = "background",
    shared = true
)]
async fn exchange_rate(currency: String) -> Result<usize, ApiError> {
    let _ = currency;
    Ok(RATE_VERSION.load(SeqCst))
}

#[stale_cache(
    maxage = "200ms",
    tolerance = 30,
    refresh = "background",
    shared = true
)]
fn quota(tenant: String) -> Result<usize, ApiError> {
    let _ = tenant;
    Ok(QUOTA_VERSION.load(SeqCst))
}

/// Reads `function`'s entry for `key` through another replica's cache,
/// with an upstream that fails, until it is `want`, calling the function
/// again between reads. The bound only turns a
/// value that never arrives into a failure: a busy 2-core machine once took
/// more than 2 s to run the background refresh and its write-back.
async fn until_shared<F: Future>(
    replica: &Fleet,
    function: &'static str,
    key: &str,
    want: usize,
    call_again: impl Fn() -> F,
) {
    let started = Instant::now();
    loop {
        let other: StaleCache<(String,), usize> =
            StaleCache::new(CacheConfig::new().maxage(Duration::from_millis(200)));
        let read = other
            .get_or_load_on(
                replica,
                (key.to_string(),),
                function,
                async { Err(()) },
                describe,
            )
            .await;
        if read.ok() == Some(want) {
            return;
        }
        // A write-back that took longer than the fleet's bound was skipped
        // (local-only, as designed): the next background refresh writes it.
        call_again().await;
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{function}: not {want} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[breaker(
    name = "fleet-payments",
    shared = true,
    quorum = 1,
    min_calls = 2,
    open_for = "300ms"
)]
async fn charge(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Down) } else { Ok(7) }
}

/// The default quorum, 2: its opening alone does not open the fleet.
#[breaker(name = "fleet-refunds", shared = true, min_calls = 2, open_for = 30)]
fn refund(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Down) } else { Ok(3) }
}

/// Two types of one module with a method `get` each, a trait implemented
/// by both, and a generic `impl`: each its own entries in Redis.
struct Users;
struct Orders;

impl Users {
    #[stale_cache(shared = true, key = id)]
    async fn get(&self, id: u32) -> Result<String, ApiError> {
        Ok(format!("user {id}"))
    }
}

impl Orders {
    #[stale_cache(shared = true, key = id)]
    async fn get(&self, id: u32) -> Result<String, ApiError> {
        Ok(format!("order {id}"))
    }
}

trait Lookup {
    fn lookup(&self, id: u32) -> Result<String, ApiError>;
}

impl Lookup for Users {
    #[stale_cache(shared = true, key = id)]
    fn lookup(&self, id: u32) -> Result<String, ApiError> {
        Ok(format!("user {id}"))
    }
}

impl Lookup for Orders {
    #[stale_cache(shared = true, key = id)]
    fn lookup(&self, id: u32) -> Result<String, ApiError> {
        Ok(format!("order {id}"))
    }
}

trait Kind {
    const KIND: &'static str;
}
struct Red;
struct Blue;
impl Kind for Red {
    const KIND: &'static str = "red";
}
impl Kind for Blue {
    const KIND: &'static str = "blue";
}

struct Paint<T>(std::marker::PhantomData<T>);

impl<T: Kind + Send + Sync + 'static> Paint<T> {
    #[stale_cache(shared = true, key = id)]
    fn get(&self, id: u32) -> Result<String, ApiError> {
        Ok(format!("{} {id}", T::KIND))
    }
}

/// `name = "..."`: a stable identity, shared on purpose by two functions.
#[stale_cache(shared = true, name = "team-names")]
fn team_name(id: u32) -> Result<String, ApiError> {
    Ok(format!("team {id}"))
}

#[stale_cache(shared = true, name = "team-names")]
fn team_name_again(id: u32) -> Result<String, ApiError> {
    Err(ApiError::Down).map(|()| format!("never {id}"))
}

/// `version = n`: a changed value type under one name (a rolling deploy:
/// the old build's function, and the new one's) shares nothing.
#[stale_cache(shared = true, name = "quotas")]
fn quota_v1(tenant: u32) -> Result<u32, ApiError> {
    Ok(tenant)
}

#[stale_cache(shared = true, name = "quotas", version = 2)]
fn quota_v2(tenant: u32) -> Result<u32, ApiError> {
    Ok(tenant * 1000)
}

fn describe(_: &(), f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("down")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_attributes_go_through_the_process_fleet() {
    let server = RedisServer::any();
    let ns = namespace("attributes");
    let process = fleet::connect(server.url(), &ns).await.unwrap();
    assert!(fleet::connected().is_some());
    let again = fleet::connect(server.url(), &ns).await.unwrap_err();
    assert!(
        matches!(again, fleet::FleetError::AlreadyConnected),
        "{again}"
    );
    let replica = Fleet::connect(server.url(), &ns).await.unwrap();

    // The futures stay `Send`, as the undecorated ones are.
    fn is_send<T: Send>(_: &T) {}
    is_send(&fetch_user_profile("ada".into()));
    is_send(&exchange_rate("EUR".into()));
    is_send(&charge(false));

    // The async cache writes what the other replica reads, fresh.
    assert_eq!(fetch_user_profile("ada".into()).await.unwrap().name, "ada");
    assert_eq!(PROFILE_CALLS.load(SeqCst), 1);
    let other: StaleCache<(String,), Profile> = StaleCache::new(CacheConfig::new());
    let function = concat!(module_path!(), "::fetch_user_profile");
    let read = other
        .get_or_load_on(
            &replica,
            ("ada".to_string(),),
            function,
            async { Err(()) },
            describe,
        )
        .await;
    assert_eq!(
        read.unwrap().name,
        "ada",
        "the attribute's value, read from Redis"
    );

    // The sync one too (its `&str` key is stored as a `String`).
    let limit = tokio::task::spawn_blocking(|| load_limit("acme"))
        .await
        .unwrap();
    assert_eq!(limit.unwrap(), 4);
    let other: StaleCache<(String,), u32> = StaleCache::new(CacheConfig::new());
    let function = concat!(module_path!(), "::load_limit");
    let read = other
        .get_or_load_on(
            &replica,
            ("acme".to_string(),),
            function,
            async { Err(()) },
            describe,
        )
        .await;
    assert_eq!(read.unwrap(), 4);
    assert_eq!(LIMIT_CALLS.load(SeqCst), 1);

    // Background refresh: the stale value at once, the new one written to
    // Redis behind it, async and sync.
    assert_eq!(exchange_rate("EUR".into()).await.unwrap(), 1);
    let quota_of = || tokio::task::spawn_blocking(|| quota("acme".into()).unwrap());
    assert_eq!(quota_of().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    RATE_VERSION.store(2, SeqCst);
    QUOTA_VERSION.store(2, SeqCst);
    assert_eq!(
        exchange_rate("EUR".into()).await.unwrap(),
        1,
        "stale, at once"
    );
    assert_eq!(quota_of().await.unwrap(), 1, "stale, at once");
    until_shared(
        &replica,
        concat!(module_path!(), "::exchange_rate"),
        "EUR",
        2,
        || exchange_rate("EUR".into()),
    )
    .await;
    until_shared(
        &replica,
        concat!(module_path!(), "::quota"),
        "acme",
        2,
        quota_of,
    )
    .await;

    // The breaker: tripped here, open on the other replica within a second.
    let remote = Arc::new(Breaker::new(
        "fleet-payments",
        BreakerConfig::new().quorum(1),
    ));
    remote.share_on(&replica);
    tokio::time::sleep(Duration::from_millis(100)).await; // subscriptions land
    assert_eq!(charge(false).await.unwrap(), 7);
    assert!(charge(true).await.is_err());
    assert!(charge(true).await.is_err());
    let local = registry().get("fleet-payments").unwrap();
    assert_eq!(
        (local.state(), local.origin()),
        (State::Open, Origin::Local)
    );
    assert!(matches!(charge(false).await, Err(ApiError::Open(_))));
    let started = Instant::now();
    while remote.state() != State::Open {
        assert!(started.elapsed() < Duration::from_secs(1), "not within 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(remote.origin(), Origin::Fleet);

    // And back: the remote's probe closes the attribute's breaker.
    tokio::time::sleep(Duration::from_millis(320)).await;
    remote
        .try_acquire()
        .expect("the remote probes")
        .record(false);
    let started = Instant::now();
    while local.state() != State::Closed {
        assert!(started.elapsed() < Duration::from_secs(1), "not within 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(local.origin(), Origin::Fleet);
    assert_eq!(charge(false).await.unwrap(), 7);

    // With the default quorum, 2: this replica's opening is one vote, and
    // the other replica stays closed until it opens too.
    let remote = Arc::new(Breaker::new("fleet-refunds", BreakerConfig::new()));
    remote.share_on(&replica);
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let votes_key = format!("resilience:{ns}:breaker-votes:fleet-refunds");
    assert!(refund(true).is_err() && refund(true).is_err());
    let local = registry().get("fleet-refunds").unwrap();
    assert_eq!(local.config().quorum_value(), 2);
    assert_eq!(local.state(), State::Open);
    let started = Instant::now();
    while redis::cmd("ZCARD")
        .arg(&votes_key)
        .query_async::<u64>(&mut conn)
        .await
        .unwrap()
        != 1
    {
        assert!(started.elapsed() < Duration::from_secs(1), "no vote in 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(remote.state(), State::Closed, "one vote of two");

    // Defect 1 of issue 23: a function's entries are its own. Each call
    // below is the first of its function here, so it reads Redis first: an
    // entry another function wrote under the same address would answer.
    assert_eq!(Users.get(1).await.unwrap(), "user 1");
    assert_eq!(Orders.get(1).await.unwrap(), "order 1", "not Users::get's");
    assert_eq!(Lookup::lookup(&Users, 2).unwrap(), "user 2");
    assert_eq!(Lookup::lookup(&Orders, 2).unwrap(), "order 2");
    let red = Paint::<Red>(std::marker::PhantomData);
    let blue = Paint::<Blue>(std::marker::PhantomData);
    assert_eq!(red.get(3).unwrap(), "red 3");
    assert_eq!(blue.get(3).unwrap(), "blue 3", "not Paint<Red>::get's");
    // A name is the identity: whatever the functions are called, and read
    // by that name alone from another replica.
    assert_eq!(team_name(4).unwrap(), "team 4");
    assert_eq!(team_name_again(4).unwrap(), "team 4", "one name, shared");
    let other: StaleCache<(u32,), String> = StaleCache::new(CacheConfig::new());
    let read = other
        .get_or_load_on(&replica, (4,), "team-names", async { Err(()) }, describe)
        .await;
    assert_eq!(read.unwrap(), "team 4");
    assert_eq!(quota_v1(5).unwrap(), 5);
    assert_eq!(
        quota_v2(5).unwrap(),
        5000,
        "version 2 reads no version 1 entry"
    );
    assert_eq!(process.errors(), 0);
}
