//! Every branch of the cache on paused tokio time, single flight with 1 000
//! tasks and 64 threads, panics and cancellation, background refresh,
//! capacity, and the three events.

// They call the cache through its deprecated methods, kept for one release:
// each forwards to the request API, so these tests run both.
#![allow(deprecated)]

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use tokio::time::{Instant, advance, sleep};

use super::report::{Outcome, tests as outcomes};
use super::{CacheConfig, Refresh, StaleCache};
use crate::test_events::{self, record_events};

/// An error that is neither `Clone` nor `Display`: the cache needs neither.
#[derive(Debug, PartialEq)]
struct Boom(&'static str);

fn text(error: &Boom, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(error.0)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// maxage 5 s, tolerance 30 s: the defaults, spelled out.
fn cache() -> StaleCache<&'static str, String> {
    StaleCache::new(CacheConfig::new().maxage(secs(5)).tolerance(secs(30)))
}

async fn ok(value: &str) -> Result<String, Boom> {
    Ok(value.to_string())
}

async fn fail() -> Result<String, Boom> {
    Err(Boom("upstream down"))
}

async fn never_polled() -> Result<String, Boom> {
    unreachable!("a fresh value needs no load")
}

/// Waits, on real time, for `condition`, a millisecond at a time. The
/// bound is only there to turn a wedged key into a failure: nothing a busy
/// machine does delays these conditions by minutes.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------- branches

/// What a scripted request's load does.
#[derive(Clone, Copy)]
enum Load {
    Ok(&'static str),
    Fail,
    /// A fresh value must be served: the load is never polled.
    Never,
}

impl Load {
    async fn answer(self) -> Result<String, Boom> {
        match self {
            Load::Ok(value) => ok(value).await,
            Load::Fail => fail().await,
            Load::Never => never_polled().await,
        }
    }
}

/// One scripted request for "k": the time that passes before it, its load,
/// and its answer (an error is `Boom`'s text).
type Step = (Duration, Load, Result<&'static str, &'static str>);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `steps` on `cache`, each answer checked.
async fn run(cache: &StaleCache<&'static str, String>, steps: &[Step]) {
    for (i, &(wait, load, answer)) in steps.iter().enumerate() {
        advance(wait).await;
        let expected = answer.map(String::from).map_err(Boom);
        assert_eq!(
            cache.get_or_load("k", "f", load.answer(), text).await,
            expected,
            "request {i}"
        );
    }
}

/// Each branch by age, with the outcome of each request: maxage 5 s,
/// tolerance 30 s.
#[tokio::test(start_paused = true)]
async fn each_branch_by_age() {
    use Outcome::{Error, Fresh, Miss, Refreshed, Stale};
    let cases: [(&str, &[Step], &[Outcome]); 4] = [
        (
            "a fresh value is served without polling the load",
            &[
                (ms(0), Load::Ok("v1"), Ok("v1")),
                (ms(4_999), Load::Never, Ok("v1")),
            ],
            &[Miss, Fresh],
        ),
        (
            // At age == maxage it is expired; stored aged 0, it is fresh
            // again for another maxage.
            "an expired value is refreshed when the load succeeds",
            &[
                (ms(0), Load::Ok("v1"), Ok("v1")),
                (secs(5), Load::Ok("v2"), Ok("v2")),
                (ms(4_999), Load::Never, Ok("v2")),
            ],
            &[Miss, Refreshed, Fresh],
        ),
        (
            "a failed refresh serves the stale value up to tolerance inclusive",
            &[
                (ms(0), Load::Ok("v1"), Ok("v1")),
                (secs(10), Load::Fail, Ok("v1")),
                (secs(20), Load::Fail, Ok("v1")),
            ],
            &[Miss, Stale, Stale],
        ),
        (
            // Had the failure refreshed the stamp, v1 would be 11 s old at
            // the end; it is 31.
            "only Ok is stored: a failure keeps the old timestamp",
            &[
                (ms(0), Load::Ok("v1"), Ok("v1")),
                (secs(20), Load::Fail, Ok("v1")),
                (secs(11), Load::Fail, Err("upstream down")),
            ],
            &[Miss, Stale, Error],
        ),
    ];
    for (case, steps, expected) in cases {
        let cache = cache();
        outcomes::start();
        run(&cache, steps).await;
        assert_eq!(outcomes::take(), expected, "{case}");
    }
}

#[tokio::test(start_paused = true)]
async fn beyond_tolerance_the_error_is_returned_even_though_moka_still_holds_it() {
    let cache = cache();
    outcomes::start();
    // Only the paused clock moves: moka's own clock keeps the entry alive.
    let steps = [
        (ms(0), Load::Ok("v1"), Ok("v1")),
        (ms(30_001), Load::Fail, Err("upstream down")),
    ];
    run(&cache, &steps).await;
    assert!(cache.store.contains_key("k"));
    // An entry too old to serve is a miss when its load succeeds.
    run(&cache, &[(ms(0), Load::Ok("v2"), Ok("v2"))]).await;
    assert_eq!(
        outcomes::take(),
        [Outcome::Miss, Outcome::Error, Outcome::Miss]
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_call_that_fails_returns_its_error_and_caches_nothing() {
    let cache = cache();
    outcomes::start();
    run(&cache, &[(ms(0), Load::Fail, Err("upstream down"))]).await;
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 0);
    // Nothing was cached, so the next call loads.
    run(&cache, &[(ms(0), Load::Ok("v1"), Ok("v1"))]).await;
    assert_eq!(outcomes::take(), [Outcome::Error, Outcome::Miss]);
}

#[test]
fn the_sync_methods_follow_the_same_rules() {
    let cache: StaleCache<u8, &str> = StaleCache::new(
        CacheConfig::new()
            .maxage(Duration::ZERO)
            .tolerance(secs(30)),
    );
    let calls = AtomicUsize::new(0);
    let load = |value| {
        calls.fetch_add(1, Ordering::Relaxed);
        value
    };
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || load(Err(Boom("x"))), text),
        Err(Boom("x"))
    );
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || load(Ok("v1")), text),
        Ok("v1")
    );
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || load(Ok("v2")), text),
        Ok("v2")
    );
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || load(Err(Boom("x"))), text),
        Ok("v2")
    );
    assert_eq!(
        calls.load(Ordering::Relaxed),
        4,
        "maxage 0: every call loads"
    );

    let fresh: StaleCache<u8, &str> = StaleCache::new(CacheConfig::new());
    fresh
        .get_or_load_blocking(1, "f", || Ok::<_, Boom>("v1"), text)
        .unwrap();
    let not_called = || -> Result<&str, Boom> { unreachable!("fresh") };
    assert_eq!(
        fresh.get_or_load_blocking(1, "f", not_called, text),
        Ok("v1")
    );
}

#[test]
fn tolerance_below_maxage_is_raised_to_maxage() {
    let config = CacheConfig::new().maxage(secs(10)).tolerance(secs(1));
    assert_eq!(config.tolerance_value(), secs(10));
    let huge = CacheConfig::new()
        .maxage(Duration::MAX)
        .tolerance(Duration::MAX);
    // Does not panic in moka's builder, nor overflow an instant.
    let cache: StaleCache<u8, u8> = StaleCache::new(huge);
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || Ok::<_, Boom>(1), text),
        Ok(1)
    );
}

// ----------------------------------------------------------- single flight

fn counting(calls: &Arc<AtomicUsize>) -> Arc<AtomicUsize> {
    Arc::clone(calls)
}

/// `n` tasks request "k" at once, each with a load that counts its call,
/// takes 1 s and then does `load`: their answers, and the loads that ran.
async fn herd(
    cache: &Arc<StaleCache<&'static str, String>>,
    n: usize,
    load: Load,
) -> (Vec<Result<String, Boom>>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (cache, calls) = (Arc::clone(cache), counting(&calls));
        tasks.spawn(async move {
            let load = async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sleep(secs(1)).await;
                load.answer().await
            };
            cache.get_or_load("k", "f", load, text).await
        });
    }
    (tasks.join_all().await, calls.load(Ordering::SeqCst))
}

/// Tasks requesting one key at once share its load; if it fails, its
/// waiters serve the stale value, or where there is none (and the error is
/// not `Clone`) each loads for itself at once: 2 s, not the 10 s of
/// queueing each behind the previous failure.
#[tokio::test(start_paused = true)]
async fn tasks_on_one_key_share_its_load() {
    // (case, v1 cached 6 s before, tasks, load, each answer, loads run,
    // each outcome, seconds taken)
    #[rustfmt::skip]
    let cases = [
        ("an expired key", true, 1_000, Load::Ok("v2"), Ok("v2"), 1, Some(Outcome::Refreshed), 1),
        ("a missing key", false, 1_000, Load::Ok("v1"), Ok("v1"), 1, Some(Outcome::Miss), 1),
        ("a failed refresh", true, 100, Load::Fail, Ok("v1"), 1, Some(Outcome::Stale), 1),
        ("a failed first load", false, 10, Load::Fail, Err("upstream down"), 10, None, 2),
    ];
    for (case, cached, tasks, load, answer, loads, outcome, took) in cases {
        let cache = Arc::new(cache());
        if cached {
            cache.get_or_load("k", "f", ok("v1"), text).await.unwrap();
            advance(secs(6)).await;
        }
        outcomes::start();
        let started = Instant::now();
        let (results, calls) = herd(&cache, tasks, load).await;
        let expected = answer.map(String::from).map_err(Boom);
        assert!(
            results.iter().all(|r| *r == expected),
            "{case}: {results:?}"
        );
        assert_eq!(calls, loads, "{case}");
        assert_eq!(started.elapsed(), secs(took), "{case}");
        let seen = outcomes::take();
        if let Some(outcome) = outcome {
            assert_eq!(seen.len(), tasks, "{case}");
            assert!(seen.iter().all(|o| *o == outcome), "{case}: {seen:?}");
        }
        assert!(cache.flights.is_empty(), "{case}");
    }
}
/// Waits, yielding to the runtime, until `waiting` tasks wait on `key`'s
/// flight; on real time, a millisecond at a time (see [`eventually`]).
async fn until_waiting(
    cache: &StaleCache<&'static str, String>,
    key: &'static str,
    waiting: usize,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while cache.flights.waiters(&key) != waiting {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {waiting} waiters"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// On a multi-threaded runtime the waiters wake on other threads than the
/// leader's: `Notify` and the flight's lock meet real parallelism. The load
/// lands only once the 999 others wait on it, so the count is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_on_two_threads_share_one_load_of_an_expired_key() {
    let cache: Arc<StaleCache<&str, String>> = Arc::new(StaleCache::new(
        CacheConfig::new()
            .maxage(Duration::ZERO)
            .tolerance(secs(30)),
    ));
    cache.get_or_load("k", "f", ok("v1"), text).await.unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1_000 {
        let (cache, calls) = (Arc::clone(&cache), counting(&calls));
        tasks.spawn(async move {
            let load = async {
                calls.fetch_add(1, Ordering::SeqCst);
                until_waiting(&cache, "k", 999).await;
                ok("v2").await
            };
            cache.get_or_load("k", "f", load, text).await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|r| r == &Ok("v2".to_string())));
    assert!(cache.flights.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_on_two_threads_share_one_failed_load_of_a_cold_key() {
    let cache: Arc<StaleCache<&str, String>> = Arc::new(StaleCache::new(CacheConfig::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1_000 {
        let (cache, calls) = (Arc::clone(&cache), counting(&calls));
        tasks.spawn(async move {
            let load = async {
                calls.fetch_add(1, Ordering::SeqCst);
                until_waiting(&cache, "k", 999).await;
                Err(Shareable("upstream down"))
            };
            cache
                .request("k", "f")
                .with_errors(shareable())
                .load(load)
                .await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        results
            .iter()
            .all(|r| r == &Err(Shareable("upstream down")))
    );
    assert!(cache.flights.is_empty());
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
        Ok("b".into())
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    slow.abort();
}

#[test]
fn threads_on_an_expired_key_share_one_load() {
    for threads in [64, 1_000] {
        // maxage 0: the key is expired again as soon as it is stored.
        let cache: StaleCache<u8, &str> = StaleCache::new(
            CacheConfig::new()
                .maxage(Duration::ZERO)
                .tolerance(secs(30)),
        );
        cache
            .get_or_load_blocking(1, "f", || Ok::<_, Boom>("v1"), text)
            .unwrap();

        let calls = AtomicUsize::new(0);
        let barrier = Barrier::new(threads);
        let load = || {
            calls.fetch_add(1, Ordering::SeqCst);
            // Land only once every other thread waits on this load.
            eventually("the others waiting", || {
                cache.flights.waiters(&1) == threads - 1
            });
            Ok::<_, Boom>("v2")
        };
        let results: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        cache.get_or_load_blocking(1, "f", load, text)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{threads} threads");
        assert!(results.iter().all(|r| r == &Ok("v2")), "{threads} threads");
    }
}

#[test]
fn different_keys_never_wait_for_each_other_in_sync_code() {
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let cache = &cache;
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            cache.get_or_load_blocking(
                1,
                "f",
                move || {
                    released.recv().unwrap();
                    Ok::<_, Boom>(1)
                },
                text,
            )
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
fn a_panicking_sync_load_does_not_wedge_the_key() {
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache.get_or_load_blocking(
            1,
            "f",
            || -> Result<u8, Boom> { panic!("load panicked") },
            text,
        )
    }));
    assert!(panicked.is_err());
    assert!(!cache.flights.in_flight(&1));
    assert_eq!(
        cache.get_or_load_blocking(1, "f", || Ok::<_, Boom>(7), text),
        Ok(7)
    );
}

#[test]
fn a_thread_waiting_on_a_panicking_load_loads_again() {
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let calls = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let leader = scope.spawn(|| {
            cache.get_or_load_blocking(
                1,
                "f",
                || -> Result<u8, Boom> {
                    eventually("a waiter", || cache.flights.waiters(&1) == 1);
                    panic!("load panicked")
                },
                text,
            )
        });
        eventually("key 1 loading", || cache.flights.in_flight(&1));
        let waiter = scope.spawn(|| {
            cache.get_or_load_blocking(
                1,
                "f",
                || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, Boom>(8)
                },
                text,
            )
        });
        assert!(leader.join().is_err());
        assert_eq!(waiter.join().unwrap(), Ok(8));
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
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
        let (cache, calls) = (Arc::clone(&cache), counting(&calls));
        waiters.spawn(async move {
            let load = async move {
                calls.fetch_add(1, Ordering::SeqCst);
                ok("v1").await
            };
            cache.get_or_load("k", "f", load, text).await
        });
    }
    assert!(leader.await.unwrap_err().is_panic());
    let results = waiters.join_all().await;
    assert!(results.iter().all(|r| r == &Ok("v1".to_string())));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // And the next caller finds it fresh.
    assert_eq!(
        cache.get_or_load("k", "f", never_polled(), text).await,
        Ok("v1".into())
    );
}

/// A value whose `Clone` panics when its countdown reaches zero: landing a
/// flight clones the value for its waiters.
#[derive(Debug, PartialEq)]
struct Brittle(u8);

static VALUE_CLONES_LEFT: AtomicUsize = AtomicUsize::new(usize::MAX);

impl Clone for Brittle {
    fn clone(&self) -> Self {
        if VALUE_CLONES_LEFT.fetch_sub(1, Ordering::SeqCst) == 0 {
            VALUE_CLONES_LEFT.store(usize::MAX, Ordering::SeqCst);
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
            cache.get_or_load_blocking(
                1,
                "f",
                || {
                    eventually("a waiter", || cache.flights.waiters(&1) == 1);
                    // Storing clones once (the index's copy, the only
                    // one); the next clone, the waiters' copy, panics.
                    VALUE_CLONES_LEFT.store(1, Ordering::SeqCst);
                    Ok::<_, Boom>(Brittle(1))
                },
                text,
            )
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
        if KEY_CLONES_LEFT.fetch_sub(1, Ordering::SeqCst) == 0 {
            panic!("key Clone panicked");
        }
        BrittleKey(self.0)
    }
}

#[test]
fn a_key_clone_that_panics_while_boarding_leaves_no_flight_behind() {
    let cache: StaleCache<BrittleKey, u8> = StaleCache::new(CacheConfig::new());
    for clones_before_the_panic in 0..2 {
        KEY_CLONES_LEFT.store(clones_before_the_panic, Ordering::SeqCst);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get_or_load_blocking(BrittleKey(1), "f", || Ok::<_, Boom>(1), text)
        }));
        KEY_CLONES_LEFT.store(usize::MAX, Ordering::SeqCst);
        assert!(
            panicked.is_err(),
            "clone {clones_before_the_panic} panicked"
        );
        assert!(
            !cache.flights.in_flight(&BrittleKey(1)),
            "no flight left that nobody leads"
        );
    }
    assert_eq!(
        cache.get_or_load_blocking(BrittleKey(1), "f", || Ok::<_, Boom>(7), text),
        Ok(7)
    );
}

/// An error that can be cloned: the waiters of a failed load get a copy.
#[derive(Debug, Clone, PartialEq)]
struct Shareable(&'static str);

fn shareable() -> super::ShareClones<fn(&Shareable, &mut fmt::Formatter<'_>) -> fmt::Result> {
    super::ShareClones(|error, f| f.write_str(error.0))
}

#[tokio::test(start_paused = true)]
async fn a_cold_key_whose_load_fails_costs_one_call_for_a_thousand_callers() {
    let cache: Arc<StaleCache<&str, String>> = Arc::new(StaleCache::new(CacheConfig::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1_000 {
        let (cache, calls) = (Arc::clone(&cache), counting(&calls));
        tasks.spawn(async move {
            let load = async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sleep(secs(1)).await;
                Err(Shareable("upstream down"))
            };
            cache
                .request("k", "f")
                .with_errors(shareable())
                .load(load)
                .await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one upstream call in all");
    assert!(
        results
            .iter()
            .all(|r| r == &Err(Shareable("upstream down")))
    );
    assert_eq!(started.elapsed(), secs(1));
    assert!(cache.flights.is_empty());
}

#[test]
fn threads_waiting_on_a_failed_load_share_its_error() {
    const THREADS: usize = 64;
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(THREADS);
    let results: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let errors =
                        super::ShareClones(|error: &Shareable, f: &mut fmt::Formatter<'_>| {
                            f.write_str(error.0)
                        });
                    cache.request(1, "f").with_errors(errors).load_blocking(|| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        eventually("the others waiting", || {
                            cache.flights.waiters(&1) == THREADS - 1
                        });
                        Err(Shareable("down"))
                    })
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(|r| r == &Err(Shareable("down"))));
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
    let (dropped, waited) = tokio::join!(tokio::time::timeout(secs(1), leader), waiter,);
    assert!(dropped.is_err(), "the leader timed out and was dropped");
    assert_eq!(waited, Ok("v1".into()));
    assert!(cache.flights.is_empty());
}

// ------------------------------------------------------------- background

fn background() -> StaleCache<&'static str, String> {
    StaleCache::new(
        CacheConfig::new()
            .maxage(secs(5))
            .tolerance(secs(30))
            .refresh(Refresh::Background),
    )
}

#[tokio::test(start_paused = true)]
async fn background_refresh_serves_stale_at_once_and_refreshes_once() {
    let cache = Arc::new(background());
    cache
        .get_or_revalidate("k", "f", ok("v1"), text)
        .await
        .unwrap();
    advance(secs(6)).await;
    outcomes::start();

    let calls = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    for _ in 0..100 {
        let calls = counting(&calls);
        let load = async move {
            calls.fetch_add(1, Ordering::SeqCst);
            sleep(secs(1)).await;
            ok("v2").await
        };
        assert_eq!(
            cache.get_or_revalidate("k", "f", load, text).await,
            Ok("v1".into())
        );
    }
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "nobody waited for the refresh"
    );
    assert!(outcomes::take().iter().all(|o| *o == Outcome::Stale));

    sleep(secs(2)).await; // the refresh, started when this task yielded, lands
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let fresh = cache
        .get_or_revalidate("k", "f", never_polled(), text)
        .await;
    assert_eq!(fresh, Ok("v2".into()));
    assert_eq!(outcomes::take(), [Outcome::Fresh]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_leaves_the_stale_value() {
    let cache = background();
    cache
        .get_or_revalidate("k", "f", ok("v1"), text)
        .await
        .unwrap();
    advance(secs(6)).await;
    assert_eq!(
        cache.get_or_revalidate("k", "f", fail(), text).await,
        Ok("v1".into())
    );
    tokio::task::yield_now().await; // the refresh runs, and fails
    assert!(cache.flights.is_empty());
    // Still there, with its old stamp: served stale until tolerance...
    assert_eq!(
        cache.get_or_revalidate("k", "f", fail(), text).await,
        Ok("v1".into())
    );
    tokio::task::yield_now().await;
    advance(secs(24)).await;
    let (stale, stamp) = (cache.index.get(&"k").unwrap(), Instant::now());
    assert_eq!(stale.stamp.age(stamp), secs(30));
    assert_eq!(
        cache.get_or_revalidate("k", "f", fail(), text).await,
        Ok("v1".into())
    );
    tokio::task::yield_now().await;
    // ...and beyond it, loaded inline: the error.
    advance(secs(1)).await;
    assert!(
        cache
            .get_or_revalidate("k", "f", fail(), text)
            .await
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn background_refresh_loads_inline_what_it_cannot_serve() {
    let cache = background();
    // Missing: the caller waits for the load.
    assert_eq!(
        cache.get_or_revalidate("k", "f", ok("v1"), text).await,
        Ok("v1".into())
    );
    advance(secs(31)).await;
    // Too old: the same.
    assert_eq!(
        cache.get_or_revalidate("k", "f", ok("v2"), text).await,
        Ok("v2".into())
    );
}

#[tokio::test(start_paused = true)]
async fn get_or_revalidate_refreshes_inline_when_so_configured() {
    let cache = cache(); // Refresh::Inline
    cache
        .get_or_revalidate("k", "f", ok("v1"), text)
        .await
        .unwrap();
    advance(secs(6)).await;
    assert_eq!(
        cache.get_or_revalidate("k", "f", ok("v2"), text).await,
        Ok("v2".into())
    );
}

#[test]
fn a_failed_background_refresh_on_a_thread_leaves_the_stale_value() {
    let cache: StaleCache<u8, &str> = StaleCache::new(
        CacheConfig::new()
            .maxage(Duration::ZERO)
            .refresh(Refresh::Background),
    );
    cache
        .get_or_revalidate_blocking(1, "f", || Ok::<_, Boom>("v1"), text)
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let (release, released) = std::sync::mpsc::channel::<()>();
    let load = {
        let calls = Arc::clone(&calls);
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
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
    assert_eq!(calls.load(Ordering::SeqCst), 1);
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

// -------------------------------------------------------------- capacity

#[test]
fn a_million_distinct_keys_stay_within_capacity() {
    let cache: StaleCache<u32, u32> = StaleCache::new(CacheConfig::new().capacity(10_000));
    for key in 0..1_000_000 {
        let value = cache.get_or_load_blocking(key, "f", || Ok::<_, Boom>(key), text);
        assert_eq!(value, Ok(key));
    }
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), 10_000);
    assert!(cache.flights.is_empty());
}

/// Under capacity pressure from keys each requested a few times, a key hit
/// thousands of times stays: moka's eviction policy learns how often it is
/// requested from the hits sampled into it (see `popularity.rs`), though
/// every hit is served by the index.
#[test]
fn a_key_hit_often_outlives_keys_requested_a_few_times() {
    let cache: StaleCache<u32, u32> = StaleCache::new(CacheConfig::new().capacity(16));
    let hot_loads = AtomicUsize::new(0);
    let hot = || {
        cache.get_or_load_blocking(
            0,
            "f",
            || {
                hot_loads.fetch_add(1, Ordering::Relaxed);
                Ok::<_, Boom>(0)
            },
            text,
        )
    };
    hot().unwrap();
    for cold in 1..=400 {
        for _ in 0..1_000 {
            hot().unwrap();
        }
        for _ in 0..3 {
            let value = cache.get_or_load_blocking(cold, "f", || Ok::<_, Boom>(cold), text);
            assert_eq!(value, Ok(cold));
            cache.run_pending_tasks();
        }
    }
    cache.run_pending_tasks();
    assert!(cache.entry_count() <= 16);
    assert_eq!(
        hot_loads.load(Ordering::Relaxed),
        1,
        "the hot key was evicted and loaded again"
    );
}

// ------------------------------------------------------------------ events

#[derive(Debug, Default, Clone, PartialEq)]
struct Event {
    level: String,
    target: String,
    outcome: String,
    error: Option<String>,
    age_ms: Option<u64>,
    function: String,
}

/// The events recorded on this thread since `record_events()`.
fn recorded_events() -> Vec<Event> {
    test_events::recorded_events()
        .into_iter()
        .map(|captured| Event {
            level: captured.level.to_string(),
            target: captured.target,
            outcome: captured.fields.get("outcome").cloned().unwrap_or_default(),
            error: captured.fields.get("error").cloned(),
            age_ms: captured
                .fields
                .get("age_ms")
                .map(|age| age.parse().expect("a number")),
            function: captured.fields.get("function").cloned().unwrap_or_default(),
        })
        .collect()
}

fn event(level: &str, outcome: &str, error: Option<&str>, age_ms: Option<u64>) -> Event {
    Event {
        level: level.into(),
        target: "resilience".into(),
        outcome: outcome.into(),
        error: error.map(Into::into),
        age_ms,
        function: "app::load".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn refresh_stale_and_failure_are_three_distinct_events() {
    record_events();
    let cache = cache();
    let f = "app::load";

    cache.get_or_load("k", f, ok("v1"), text).await.unwrap(); // miss: no event
    cache.get_or_load("k", f, ok("v1"), text).await.unwrap(); // fresh: no event
    advance(secs(6)).await;
    cache.get_or_load("k", f, ok("v2"), text).await.unwrap(); // refreshed
    advance(secs(10)).await;
    cache.get_or_load("k", f, fail(), text).await.unwrap(); // stale
    advance(secs(21)).await;
    cache.get_or_load("k", f, fail(), text).await.unwrap_err(); // too old
    cache.get_or_load("new", f, fail(), text).await.unwrap_err(); // nothing cached

    let events = recorded_events();
    assert_eq!(
        events,
        [
            event("INFO", "refreshed", None, Some(6_000)),
            event("WARN", "stale", Some("upstream down"), Some(10_000)),
            event("ERROR", "error", Some("upstream down"), Some(31_000)),
            event("ERROR", "error", Some("upstream down"), None),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_background_refresh_is_a_warning_with_the_age() {
    record_events();
    let cache = background();
    cache
        .get_or_revalidate("k", "app::load", ok("v1"), text)
        .await
        .unwrap();
    advance(secs(7)).await;
    cache
        .get_or_revalidate("k", "app::load", fail(), text)
        .await
        .unwrap();
    tokio::task::yield_now().await;
    let events = recorded_events();
    assert_eq!(
        events,
        [event("WARN", "stale", Some("upstream down"), Some(7_000))]
    );
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
            let load = async { Err($error) };
            let result = cache
                .get_or_load(1, "app::load", load, |error, f| {
                    fmt::Display::fmt(&(&&&ErrorRef(error)).describe(), f)
                })
                .await;
            assert!(result.is_err());
            let events = recorded_events();
            events[0].error.clone().unwrap()
        }};
    }

    assert_eq!(
        described!(std::io::Error::other("disk on fire")),
        "disk on fire"
    );
    assert_eq!(described!(Boom("x")), "Boom(\"x\")");
    assert!(described!(Opaque).contains("Opaque"));
}
