//! What `tests/behaviour/stale_cache.rs` cannot show through the attribute:
//! each request's outcome, single flight with tasks on two threads and with
//! real threads, errors that are not `Clone`, panics and cancellation,
//! background refresh on threads, and events of background refreshes.

// They call the cache through its deprecated methods, kept for one release:
// each forwards to the request API, so these tests run both.
#![allow(deprecated)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tokio::time::{Instant, advance, sleep};

use super::report::{Outcome, tests as outcomes};
use super::{CacheConfig, Refresh, ShareClones, StaleCache};
use crate::test_events::{self, record_events};

/// An error that is neither `Clone` nor `Display`: the cache needs neither.
#[derive(Debug, PartialEq)]
struct Boom(&'static str);

fn text(error: &Boom, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(error.0)
}

/// An error that can be cloned: the waiters of a failed load get a copy.
#[derive(Debug, Clone, PartialEq)]
struct Shareable(&'static str);

fn shareable() -> ShareClones<fn(&Shareable, &mut fmt::Formatter<'_>) -> fmt::Result> {
    ShareClones(|error, f| f.write_str(error.0))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// maxage 5 s, tolerance 30 s (the defaults), refreshed as `refresh` says.
fn cache_refreshing(refresh: Refresh) -> StaleCache<&'static str, String> {
    StaleCache::new(CacheConfig::new().refresh(refresh))
}

fn cache() -> StaleCache<&'static str, String> {
    cache_refreshing(Refresh::Inline)
}

/// Expired as soon as stored.
fn expiring<V: Clone + Send + Sync + 'static>(refresh: Refresh) -> StaleCache<u8, V> {
    StaleCache::new(CacheConfig::new().maxage(Duration::ZERO).refresh(refresh))
}

/// A load: one type for them all, so that a test's closure takes any.
type Load = Pin<Box<dyn Future<Output = Result<String, Boom>> + Send>>;

fn ok(value: &'static str) -> Load {
    Box::pin(async move { Ok(value.to_string()) })
}

fn fail() -> Load {
    Box::pin(async { Err(Boom("upstream down")) })
}

fn never_polled() -> Load {
    Box::pin(async { unreachable!("a fresh value needs no load") })
}

/// Waits, on real time, for `condition`, a millisecond at a time. The
/// bound is only there to turn a wedged key into a failure: nothing a busy
/// machine does delays these conditions by minutes.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------- branches

/// The outcome of each request by age (maxage 5 s, tolerance 30 s). A
/// failure keeps the old stamp, and the age is judged on the paused clock
/// though moka's own clock still holds the entry.
#[tokio::test(start_paused = true)]
async fn each_outcome_by_age_and_the_error_though_moka_holds_the_entry() {
    use Outcome::{Error, Fresh, Miss, Stale};
    let cache = cache();
    let request = |load| cache.get_or_load("k", "f", load, text);
    outcomes::start();
    assert_eq!(request(ok("v1")).await, Ok("v1".into()));
    advance(Duration::from_millis(4_999)).await;
    assert_eq!(request(never_polled()).await, Ok("v1".into()));
    advance(Duration::from_millis(5_001)).await;
    assert_eq!(request(fail()).await, Ok("v1".into()));
    advance(Duration::from_millis(20_001)).await; // 30.001 s since the load
    assert_eq!(request(fail()).await, Err(Boom("upstream down")));
    assert!(cache.store.contains_key("k"));
    // An entry too old to serve is a miss when its load succeeds.
    assert_eq!(request(ok("v2")).await, Ok("v2".into()));
    assert_eq!(outcomes::take(), [Miss, Fresh, Stale, Error, Miss]);
}

#[test]
fn the_sync_methods_follow_the_same_rules() {
    let cache = expiring::<&str>(Refresh::Inline);
    let steps = [
        (Err(Boom("x")), Err(Boom("x"))),
        (Ok("v1"), Ok("v1")),
        (Ok("v2"), Ok("v2")),
        (Err(Boom("x")), Ok("v2")),
    ];
    for (i, (loaded, answer)) in steps.into_iter().enumerate() {
        let got = cache.get_or_load_blocking(1, "f", || loaded, text);
        assert_eq!(got, answer, "maxage 0, request {i}: it loads");
    }

    let fresh: StaleCache<u8, &str> = StaleCache::new(CacheConfig::new());
    let request = |load: fn() -> _| fresh.get_or_load_blocking(1, "f", load, text);
    assert_eq!(request(|| Ok("v1")), Ok("v1"));
    assert_eq!(request(|| unreachable!("fresh")), Ok("v1"));
}

/// `Duration::MAX` panics neither in moka's builder nor in instant
/// arithmetic (ages are capped at 1000 years).
#[test]
fn ages_of_duration_max_are_capped() {
    let config = CacheConfig::new()
        .maxage(Duration::MAX)
        .tolerance(Duration::MAX);
    let cache: StaleCache<u8, u8> = StaleCache::new(config);
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || Ok::<_, Boom>(1), text),
        Ok(1)
    );
}

// ----------------------------------------------------------- single flight

/// Tasks requesting one key at once share its load; if it fails, its
/// waiters serve the stale value, or where there is none (and the error is
/// not `Clone`) each loads for itself at once: 2 s, not the 10 s of
/// queueing each behind the previous failure.
#[tokio::test(start_paused = true)]
async fn tasks_on_one_key_share_its_load() {
    // (case, v1 cached 6 s before, tasks, load succeeds, each answer, loads
    // run, each outcome, seconds taken)
    #[rustfmt::skip]
    let cases = [
        ("an expired key", true, 1_000, true, Ok("v2"), 1, Some(Outcome::Refreshed), 1),
        ("a missing key", false, 1_000, true, Ok("v2"), 1, Some(Outcome::Miss), 1),
        ("a failed refresh", true, 100, false, Ok("v1"), 1, Some(Outcome::Stale), 1),
        ("a failed first load", false, 10, false, Err("upstream down"), 10, None, 2),
    ];
    for (case, cached, tasks, succeeds, answer, loads, outcome, took) in cases {
        let cache = Arc::new(cache());
        if cached {
            cache.get_or_load("k", "f", ok("v1"), text).await.unwrap();
            advance(secs(6)).await;
        }
        outcomes::start();
        let started = Instant::now();
        let calls = Arc::new(AtomicUsize::new(0));
        let mut herd = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
            let answer = if succeeds { ok("v2") } else { fail() };
            herd.spawn(async move {
                let load = async move {
                    calls.fetch_add(1, SeqCst);
                    sleep(secs(1)).await;
                    answer.await
                };
                cache.get_or_load("k", "f", load, text).await
            });
        }
        let results = herd.join_all().await;
        let expected = answer.map(String::from).map_err(Boom);
        assert!(
            results.iter().all(|r| *r == expected),
            "{case}: {results:?}"
        );
        assert_eq!(calls.load(SeqCst), loads, "{case}");
        assert_eq!(started.elapsed(), secs(took), "{case}");
        let seen = outcomes::take();
        if let Some(outcome) = outcome {
            assert_eq!(seen.len(), tasks, "{case}");
            assert!(seen.iter().all(|o| *o == outcome), "{case}: {seen:?}");
        }
        assert!(cache.flights.is_empty(), "{case}");
    }
}

/// On a multi-threaded runtime the waiters wake on other threads than the
/// leader's: `Notify` and the flight's lock meet real parallelism. The load
/// lands only once the 999 others wait on it, so the count is exact: one
/// load of an expired key, and one of a cold key whose error they share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_on_two_threads_share_one_load() {
    for (cached, loaded) in [(true, Ok(2)), (false, Err(Shareable("down")))] {
        let cache = Arc::new(expiring::<u8>(Refresh::Inline));
        if cached {
            cache
                .get_or_load(1, "f", async { Ok::<_, Boom>(1) }, text)
                .await
                .unwrap();
        }
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..1_000 {
            let (cache, calls, loaded) = (Arc::clone(&cache), Arc::clone(&calls), loaded.clone());
            tasks.spawn(async move {
                let load = async {
                    calls.fetch_add(1, SeqCst);
                    let deadline = std::time::Instant::now() + Duration::from_secs(300);
                    while cache.flights.waiters(&1) != 999 {
                        assert!(std::time::Instant::now() < deadline, "timed out");
                        sleep(Duration::from_millis(1)).await;
                    }
                    loaded
                };
                cache
                    .request(1, "f")
                    .with_errors(shareable())
                    .load(load)
                    .await
            });
        }
        let results = tasks.join_all().await;
        assert_eq!(calls.load(SeqCst), 1, "{loaded:?}");
        assert!(results.iter().all(|r| *r == loaded), "{loaded:?}");
        assert!(cache.flights.is_empty());
    }
}

/// Threads released together on one key make one load, which lands only
/// once every other thread waits on it: of an expired key, and of a cold
/// key whose error they share.
#[test]
fn threads_on_one_key_share_its_load() {
    let cases = [
        (64, true, Ok(2)),
        (1_000, true, Ok(2)),
        (64, false, Err(Shareable("down"))),
    ];
    for (threads, cached, loaded) in cases {
        let cache = expiring::<u8>(Refresh::Inline);
        if cached {
            cache
                .get_or_load_blocking(1, "f", || Ok::<_, Boom>(1), text)
                .unwrap();
        }
        let (calls, barrier) = (AtomicUsize::new(0), Barrier::new(threads));
        let load = || {
            calls.fetch_add(1, SeqCst);
            eventually("the others waiting", || {
                cache.flights.waiters(&1) == threads - 1
            });
            loaded.clone()
        };
        let results: Vec<_> = std::thread::scope(|scope| {
            let request = || {
                barrier.wait();
                cache
                    .request(1, "f")
                    .with_errors(shareable())
                    .load_blocking(load)
            };
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(request)).collect();
            handles.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(calls.load(SeqCst), 1, "{threads} threads");
        assert!(results.iter().all(|r| *r == loaded), "{threads} threads");
    }
}

#[tokio::test(start_paused = true)]
async fn different_keys_never_wait_for_each_other() {
    let cache = Arc::new(cache());
    let slow = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            let load = async {
                sleep(secs(3_600)).await;
                ok("a").await
            };
            cache.get_or_load("a", "f", load, text).await
        })
    };
    tokio::task::yield_now().await; // "a" is now loading
    let started = Instant::now();
    assert_eq!(
        cache.get_or_load("b", "f", ok("b"), text).await,
        ok("b").await
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    slow.abort();
}

#[test]
fn different_keys_never_wait_for_each_other_in_sync_code() {
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let load = move || {
                released.recv().unwrap();
                Ok::<_, Boom>(1)
            };
            cache.get_or_load_blocking(1, "f", load, text)
        });
        eventually("key 1 loading", || cache.flights.in_flight(&1));
        assert_eq!(
            cache.get_or_load_blocking(2, "f", || Ok::<_, Boom>(2), text),
            Ok(2)
        );
        release.send(()).unwrap();
    });
}

// ------------------------------------------------------ panics, cancellation

#[test]
fn a_thread_waiting_on_a_panicking_load_loads_again() {
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let calls = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let leader = scope.spawn(|| {
            let load = || -> Result<u8, Boom> {
                eventually("a waiter", || cache.flights.waiters(&1) == 1);
                panic!("load panicked")
            };
            cache.get_or_load_blocking(1, "f", load, text)
        });
        eventually("key 1 loading", || cache.flights.in_flight(&1));
        let waiter = scope.spawn(|| {
            let load = || {
                calls.fetch_add(1, SeqCst);
                Ok::<_, Boom>(8)
            };
            cache.get_or_load_blocking(1, "f", load, text)
        });
        assert!(leader.join().is_err());
        assert_eq!(waiter.join().unwrap(), Ok(8));
    });
    assert_eq!(calls.load(SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_does_not_wedge_the_key_and_its_waiters_load_once() {
    let cache = Arc::new(cache());
    let leader = {
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            let load = async {
                sleep(secs(1)).await;
                panic!("load panicked")
            };
            cache.get_or_load("k", "f", load, text).await
        })
    };
    tokio::task::yield_now().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let mut waiters = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
        waiters.spawn(async move {
            let load = async move {
                calls.fetch_add(1, SeqCst);
                ok("v1").await
            };
            cache.get_or_load("k", "f", load, text).await
        });
    }
    assert!(leader.await.unwrap_err().is_panic());
    let results = waiters.join_all().await;
    assert!(results.iter().all(|r| r == &Ok("v1".to_string())));
    assert_eq!(calls.load(SeqCst), 1);
    // And the next caller finds it fresh.
    let fresh = cache.get_or_load("k", "f", never_polled(), text).await;
    assert_eq!(fresh, Ok("v1".into()));
}

/// A value whose `Clone` panics when its countdown reaches zero: landing a
/// flight clones the value for its waiters.
#[derive(Debug, PartialEq)]
struct Brittle(u8);

static VALUE_CLONES_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

impl Clone for Brittle {
    fn clone(&self) -> Self {
        if VALUE_CLONES_LEFT.fetch_sub(1, SeqCst) == 0 {
            VALUE_CLONES_LEFT.store(usize::MAX, SeqCst);
            panic!("value Clone panicked");
        }
        Brittle(self.0)
    }
}

#[test]
fn a_value_clone_that_panics_while_landing_does_not_wedge_the_waiters() {
    let cache: Arc<StaleCache<u8, Brittle>> = Arc::new(StaleCache::new(CacheConfig::new()));
    let leader = {
        let cache = Arc::clone(&cache);
        std::thread::spawn(move || {
            let load = || {
                eventually("a waiter", || cache.flights.waiters(&1) == 1);
                // Storing clones once (the index's copy, the only one); the
                // next clone, the waiters' copy, panics.
                VALUE_CLONES_LEFT.store(1, SeqCst);
                Ok::<_, Boom>(Brittle(1))
            };
            cache.get_or_load_blocking(1, "f", load, text)
        })
    };
    eventually("key 1 loading", || cache.flights.in_flight(&1));
    let (answer, answered) = std::sync::mpsc::channel();
    {
        let cache = Arc::clone(&cache);
        std::thread::spawn(move || {
            let result = cache.get_or_load_blocking(1, "f", || Ok::<_, Boom>(Brittle(2)), text);
            answer.send(result).unwrap();
        });
    }
    assert!(leader.join().is_err(), "the leader's landing panicked");
    let waited = answered
        .recv_timeout(Duration::from_secs(300))
        .expect("the waiter was left waiting on a flight that never lands");
    assert_eq!(
        waited,
        Ok(Brittle(1)),
        "the stored value, found on a second look"
    );
    assert!(cache.flights.is_empty());
}

/// A key whose `Clone` panics on the clone that starting a flight makes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BrittleKey(u8);

static KEY_CLONES_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

impl Clone for BrittleKey {
    fn clone(&self) -> Self {
        if KEY_CLONES_LEFT.fetch_sub(1, SeqCst) == 0 {
            panic!("key Clone panicked");
        }
        BrittleKey(self.0)
    }
}

#[test]
fn a_key_clone_that_panics_while_boarding_leaves_no_flight_behind() {
    let cache: StaleCache<BrittleKey, u8> = StaleCache::new(CacheConfig::new());
    let load =
        |value| cache.get_or_load_blocking(BrittleKey(1), "f", || Ok::<_, Boom>(value), text);
    for clones_before_the_panic in 0..2 {
        KEY_CLONES_LEFT.store(clones_before_the_panic, SeqCst);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(1)));
        KEY_CLONES_LEFT.store(usize::MAX, SeqCst);
        assert!(
            panicked.is_err(),
            "clone {clones_before_the_panic} panicked"
        );
        let in_flight = cache.flights.in_flight(&BrittleKey(1));
        assert!(!in_flight, "no flight left that nobody leads");
    }
    assert_eq!(load(7), Ok(7));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_leader_hands_the_load_to_a_waiter() {
    let cache = cache();
    let leader = cache.get_or_load(
        "k",
        "f",
        async {
            sleep(secs(60)).await;
            ok("never").await
        },
        text,
    );
    let waiter = cache.get_or_load("k", "f", ok("v1"), text);
    let (dropped, waited) = tokio::join!(tokio::time::timeout(secs(1), leader), waiter);
    assert!(dropped.is_err(), "the leader timed out and was dropped");
    assert_eq!(waited, Ok("v1".into()));
    assert!(cache.flights.is_empty());
}

// ------------------------------------------------------------- background

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_leaves_the_stale_value() {
    let cache = cache_refreshing(Refresh::Background);
    let revalidate = |load| cache.get_or_revalidate("k", "f", load, text);
    revalidate(ok("v1")).await.unwrap();
    advance(secs(6)).await;
    assert_eq!(revalidate(fail()).await, Ok("v1".into()));
    tokio::task::yield_now().await; // the refresh runs, and fails
    assert!(cache.flights.is_empty());
    // Still there, with its old stamp: served stale until tolerance...
    assert_eq!(revalidate(fail()).await, Ok("v1".into()));
    tokio::task::yield_now().await;
    advance(secs(24)).await;
    assert_eq!(
        cache.index.get(&"k").unwrap().stamp.age(Instant::now()),
        secs(30)
    );
    assert_eq!(revalidate(fail()).await, Ok("v1".into()));
    tokio::task::yield_now().await;
    // ...and beyond it, loaded inline: the error.
    advance(secs(1)).await;
    assert!(revalidate(fail()).await.is_err());
}

/// A revalidating request loads inline what it cannot serve (missing, too
/// old), and anything expired when the cache refreshes inline.
#[tokio::test(start_paused = true)]
async fn a_revalidating_request_loads_inline_what_it_cannot_serve_behind() {
    let cases = [
        ("missing", Refresh::Background, "new", 0),
        ("too old", Refresh::Background, "k", 31),
        ("expired", Refresh::Inline, "k", 6),
    ];
    for (case, refresh, key, wait) in cases {
        let cache = cache_refreshing(refresh);
        let revalidate = |key, load| cache.get_or_revalidate(key, "f", load, text);
        revalidate("k", ok("v1")).await.unwrap();
        advance(secs(wait)).await;
        assert_eq!(revalidate(key, ok("v2")).await, Ok("v2".into()), "{case}");
    }
}

#[test]
fn a_failed_background_refresh_on_a_thread_leaves_the_stale_value() {
    let cache = expiring::<&str>(Refresh::Background);
    cache
        .get_or_revalidate_blocking(1, "f", || Ok::<_, Boom>("v1"), text)
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let (release, released) = std::sync::mpsc::channel::<()>();
    let load = {
        let calls = Arc::clone(&calls);
        move || {
            calls.fetch_add(1, SeqCst);
            released.recv().unwrap();
            Err(Boom("upstream down"))
        }
    };
    assert_eq!(
        cache.get_or_revalidate_blocking(1, "f", load, text),
        Ok("v1")
    );
    // While it runs, callers get the stale value and start no second refresh.
    for _ in 0..10 {
        let second = || -> Result<&str, Boom> { unreachable!("a second refresh") };
        assert_eq!(
            cache.get_or_revalidate_blocking(1, "f", second, text),
            Ok("v1")
        );
    }
    release.send(()).unwrap();
    eventually("the refresh to land", || !cache.flights.in_flight(&1));
    assert_eq!(calls.load(SeqCst), 1);
    assert_eq!(cache.index.get(&1).unwrap().value, "v1");
}

/// 10 000 keys expiring together: their background refreshes run on the
/// few shared refresher threads, not on a thread each.
#[test]
fn ten_thousand_background_refreshes_share_a_few_threads() {
    const KEYS: u32 = 10_000;
    let cache: StaleCache<u32, &str> = StaleCache::new(
        CacheConfig::new()
            .maxage(Duration::ZERO)
            .refresh(Refresh::Background),
    );
    for key in 0..KEYS {
        let loaded = cache.get_or_revalidate_blocking(key, "f", || Ok::<_, Boom>("old"), text);
        assert_eq!(loaded, Ok("old"));
    }
    type Seen = Arc<std::sync::Mutex<std::collections::HashSet<std::thread::ThreadId>>>;
    let threads: Seen = Arc::default();
    let refresh = |threads: &Seen| {
        let threads = Arc::clone(threads);
        move || {
            threads.lock().unwrap().insert(std::thread::current().id());
            Ok::<_, Boom>("new")
        }
    };
    // Ask until every key has been refreshed: a refresh offered to a full
    // queue is offered again by the next call of its key.
    let mut pending: Vec<u32> = (0..KEYS).collect();
    for _round in 0..100_000 {
        pending.retain(|&key| {
            cache.get_or_revalidate_blocking(key, "f", refresh(&threads), text) != Ok("new")
        });
        if pending.is_empty() {
            break;
        }
        std::thread::yield_now();
    }
    assert!(pending.is_empty(), "{} keys never refreshed", pending.len());
    let threads = threads.lock().unwrap().len();
    assert!(
        (1..=super::refresher::THREADS).contains(&threads),
        "{threads} refresher threads"
    );
}

// ------------------------------------------------------------------ events

/// The recorded events' level, `function`, `outcome`, `error` and `age_ms`.
fn recorded_events() -> Vec<[Option<String>; 5]> {
    let fields = ["function", "outcome", "error", "age_ms"];
    let event = |event: test_events::Captured| {
        assert_eq!(event.target, "resilience");
        let [function, outcome, error, age_ms] = fields.map(|name| event.fields.get(name).cloned());
        [
            Some(event.level.to_string()),
            function,
            outcome,
            error,
            age_ms,
        ]
    };
    test_events::recorded_events()
        .into_iter()
        .map(event)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_is_a_warning_with_the_age() {
    record_events();
    let cache = cache_refreshing(Refresh::Background);
    let revalidate = |load| cache.get_or_revalidate("k", "app::load", load, text);
    revalidate(ok("v1")).await.unwrap();
    advance(secs(7)).await;
    revalidate(fail()).await.unwrap();
    tokio::task::yield_now().await;
    let warning = ["WARN", "app::load", "stale", "upstream down", "7000"];
    assert_eq!(recorded_events(), [warning.map(|field| Some(field.into()))]);
}

// ------------------------------------------------- what generated code needs

#[test]
fn the_future_is_send_when_the_load_is() {
    fn assert_send<T: Send>(_: T) {}
    let cache = cache();
    assert_send(cache.get_or_load("k", "f", ok("v"), text));
    assert_send(cache.get_or_revalidate("k", "f", ok("v"), text));
}

/// The generated `describe` closure: `Display`, else `Debug`, else the type
/// name, with the error's type inferred from the load.
#[tokio::test(start_paused = true)]
async fn errors_are_described_the_way_generated_code_does() {
    use crate::__private::{DescribeDebug, DescribeDisplay, DescribeOpaque, ErrorRef};

    struct Opaque;

    // A macro, not a generic function: in generated code the error type is
    // concrete where the closure is written.
    macro_rules! described {
        ($error:expr) => {{
            record_events();
            let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
            let result = cache
                .get_or_load(1, "app::load", async { Err($error) }, |error, f| {
                    fmt::Display::fmt(&(&&&ErrorRef(error)).describe(), f)
                })
                .await;
            assert!(result.is_err());
            recorded_events()[0][3].clone().unwrap()
        }};
    }

    assert_eq!(
        described!(std::io::Error::other("disk on fire")),
        "disk on fire"
    );
    assert_eq!(described!(Boom("x")), "Boom(\"x\")");
    assert!(described!(Opaque).contains("Opaque"));
}
