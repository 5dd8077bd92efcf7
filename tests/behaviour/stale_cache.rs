//! `#[stale_cache]` through decorated functions, on paused time.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use resilience_runtime::stale_cache;
use tokio::time::advance;

use crate::events::Recorder;
use crate::retry::ApiError;

/// An upstream whose health the test switches; counts its calls.
struct Upstream {
    down: AtomicBool,
    calls: AtomicU32,
}

impl Upstream {
    const fn new() -> Self {
        Upstream {
            down: AtomicBool::new(false),
            calls: AtomicU32::new(0),
        }
    }

    fn call(&self, id: &str) -> Result<String, ApiError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.down.load(Ordering::SeqCst) {
            Err(ApiError::Unavailable(call))
        } else {
            Ok(format!("{id}#{call}"))
        }
    }

    fn calls(&self) -> u32 {
        self.calls.load(Ordering::SeqCst)
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn fresh_then_refreshed_then_stale_then_error() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(maxage = 3, tolerance = 15)]
    async fn profile(id: String) -> Result<String, ApiError> {
        UPSTREAM.call(&id)
    }

    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#1".into()),
        "a miss loads"
    );
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#1".into()),
        "fresh: no call"
    );
    assert_eq!(UPSTREAM.calls(), 1);

    advance(Duration::from_secs(1)).await; // age 3 s = maxage: expired
    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#2".into()),
        "expired: refreshed"
    );
    advance(Duration::from_millis(2_999)).await;
    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#2".into()),
        "the refreshed value is fresh for another maxage"
    );
    assert_eq!(UPSTREAM.calls(), 2);

    UPSTREAM.set_down(true);
    advance(Duration::from_millis(7_001)).await;
    let before = UPSTREAM.calls();
    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#2".into()),
        "refresh failed, age 10 s ≤ 15 s: stale"
    );
    assert_eq!(UPSTREAM.calls() - before, 3, "the refresh got two retries");

    // Judged once the retries (0.3 s) failed: age 10.3 + 4.4 + 0.3 = 15 s.
    advance(Duration::from_millis(4_400)).await;
    assert_eq!(
        profile("ada".into()).await,
        Ok("ada#2".into()),
        "age 15 s = tolerance: still stale, and the failures kept its stamp"
    );
    assert_eq!(
        profile("ada".into()).await,
        Err(ApiError::Unavailable(11)),
        "age 15.3 s: too old to serve"
    );
}

#[tokio::test(start_paused = true)]
async fn a_first_call_that_fails_returns_its_error_and_caches_nothing() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(retries = 0)]
    async fn profile(id: String) -> Result<String, ApiError> {
        UPSTREAM.call(&id)
    }

    UPSTREAM.set_down(true);
    assert_eq!(profile("new".into()).await, Err(ApiError::Unavailable(1)));
    UPSTREAM.set_down(false);
    assert_eq!(
        profile("new".into()).await,
        Ok("new#2".into()),
        "nothing was cached: it loads again"
    );
}

#[tokio::test(start_paused = true)]
async fn a_thousand_callers_of_one_expired_key_make_one_call() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(maxage = 1, tolerance = 10)]
    async fn profile(id: String) -> Result<String, ApiError> {
        tokio::time::sleep(Duration::from_millis(50)).await; // a slow upstream
        UPSTREAM.call(&id)
    }

    profile("hot".into()).await.unwrap();
    advance(Duration::from_secs(2)).await;
    let callers: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(profile("hot".into())))
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), Ok("hot#2".into()));
    }
    assert_eq!(
        UPSTREAM.calls(),
        2,
        "one load, then one refresh for a thousand callers"
    );
}

/// 1 000 real threads released together on a cold key: one load. The load
/// lasts until every thread has called; one that calls after it landed
/// finds the value fresh (maxage 60 s), so no timing decides the count.
/// (An expired key under 1 000 threads is `StaleCache`'s own test, where the
/// load can wait until the other 999 are waiting on it.)
#[test]
fn a_thousand_real_threads_on_one_cold_key_make_one_call() {
    const THREADS: u32 = 1000;
    static UPSTREAM: Upstream = Upstream::new();
    static ENTERED: AtomicU32 = AtomicU32::new(0);
    #[stale_cache(maxage = 60, tolerance = 60, retries = 0)]
    fn config(env: &'static str) -> Result<String, ApiError> {
        while ENTERED.load(Ordering::SeqCst) < THREADS {
            std::thread::yield_now();
        }
        UPSTREAM.call(env)
    }

    let start = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                ENTERED.fetch_add(1, Ordering::SeqCst);
                config("prod")
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), Ok("prod#1".into()));
    }
    assert_eq!(UPSTREAM.calls(), 1, "one load for a thousand threads");
}

/// A cold key during an outage: the waiters get a clone of the one load's
/// error (`ApiError: Clone`), so the upstream sees one call, not 1 000.
#[tokio::test(start_paused = true)]
async fn a_cold_key_failing_for_a_thousand_callers_makes_one_call() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(maxage = 3, tolerance = 15, retries = 0)]
    async fn profile(id: String) -> Result<String, ApiError> {
        tokio::time::sleep(Duration::from_millis(50)).await; // a slow upstream
        UPSTREAM.call(&id)
    }

    UPSTREAM.set_down(true);
    let callers: Vec<_> = (0..1000)
        .map(|_| tokio::spawn(profile("cold".into())))
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), Err(ApiError::Unavailable(1)));
    }
    assert_eq!(UPSTREAM.calls(), 1);
}

/// Methods of a generic `impl`: one `static` in the source, but each
/// instantiation must keep its own cache — `Client<Mock>` never answers
/// with `Client<Prod>`'s data.
#[test]
fn each_instantiation_of_a_generic_impl_has_its_own_cache() {
    trait Backend {
        const NAME: &'static str;
    }
    struct Prod;
    struct Mock;
    impl Backend for Prod {
        const NAME: &'static str = "prod";
    }
    impl Backend for Mock {
        const NAME: &'static str = "mock";
    }
    struct Client<B>(std::marker::PhantomData<B>);
    impl<B: Backend> Client<B> {
        fn new() -> Self {
            Client(std::marker::PhantomData)
        }

        #[stale_cache(maxage = 20, key = id)]
        fn fetch(&self, id: u32) -> Result<String, ApiError> {
            Ok(format!("{} {id}", B::NAME))
        }

        #[stale_cache(maxage = 20)]
        fn lookup(id: u32) -> Result<String, ApiError> {
            Ok(format!("{} {id}", B::NAME))
        }
    }

    assert_eq!(Client::<Prod>::new().fetch(1), Ok("prod 1".into()));
    assert_eq!(Client::<Mock>::new().fetch(1), Ok("mock 1".into()));
    assert_eq!(Client::<Prod>::lookup(1), Ok("prod 1".into()));
    assert_eq!(Client::<Mock>::lookup(1), Ok("mock 1".into()));
}

/// A trait's default method is one body for every implementer; each keeps
/// its own cache.
#[tokio::test(start_paused = true)]
async fn each_implementer_of_a_cached_default_method_has_its_own_cache() {
    trait Named {
        fn name(&self) -> String;

        #[stale_cache(maxage = 20, key = id)]
        async fn greeting(&self, id: u32) -> Result<String, ApiError> {
            Ok(format!("{} {id}", self.name()))
        }
    }
    struct English;
    struct French;
    impl Named for English {
        fn name(&self) -> String {
            "hello".into()
        }
    }
    impl Named for French {
        fn name(&self) -> String {
            "bonjour".into()
        }
    }

    assert_eq!(English.greeting(1).await, Ok("hello 1".into()));
    assert_eq!(French.greeting(1).await, Ok("bonjour 1".into()));
    assert_eq!(English.greeting(1).await, Ok("hello 1".into()));
}

#[tokio::test(start_paused = true)]
async fn background_refresh_serves_stale_at_once_and_refreshes_once_behind() {
    static UPSTREAM: Upstream = Upstream::new();
    static RELEASE: tokio::sync::Notify = tokio::sync::Notify::const_new();
    static HOLD: AtomicBool = AtomicBool::new(false);
    #[stale_cache(maxage = 1, tolerance = 60, retries = 0, refresh = "background")]
    async fn profile(id: String) -> Result<String, ApiError> {
        if HOLD.load(Ordering::SeqCst) {
            RELEASE.notified().await;
        }
        UPSTREAM.call(&id)
    }

    profile("bg".into()).await.unwrap();
    advance(Duration::from_secs(2)).await;
    HOLD.store(true, Ordering::SeqCst);
    for _ in 0..100 {
        assert_eq!(
            profile("bg".into()).await,
            Ok("bg#1".into()),
            "stale at once"
        );
    }
    RELEASE.notify_waiters();
    HOLD.store(false, Ordering::SeqCst);
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(UPSTREAM.calls(), 2, "one refresh behind a hundred callers");
    assert_eq!(profile("bg".into()).await, Ok("bg#2".into()));

    // A background refresh that fails leaves the stale value in place.
    UPSTREAM.set_down(true);
    advance(Duration::from_secs(2)).await;
    assert_eq!(profile("bg".into()).await, Ok("bg#2".into()));
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(UPSTREAM.calls(), 3);
    assert_eq!(
        profile("bg".into()).await,
        Ok("bg#2".into()),
        "still the stale value"
    );
}

struct Directory {
    region: &'static str,
    upstream: Upstream,
}

impl Directory {
    #[stale_cache(key = (self.region, user.clone()), retries = 0)]
    fn lookup(&self, user: String) -> Result<String, ApiError> {
        self.upstream.call(&format!("{}/{user}", self.region))
    }

    #[stale_cache(key = user_id, retries = 0)]
    async fn by_id(&mut self, user_id: u64) -> Result<String, ApiError> {
        self.upstream.call(&user_id.to_string())
    }
}

#[tokio::test(start_paused = true)]
async fn methods_cache_under_the_key_they_name() {
    let eu = Directory {
        region: "eu",
        upstream: Upstream::new(),
    };
    assert_eq!(eu.lookup("ada".into()), Ok("eu/ada#1".into()));
    assert_eq!(eu.lookup("ada".into()), Ok("eu/ada#1".into()));
    let us = Directory {
        region: "us",
        upstream: Upstream::new(),
    };
    assert_eq!(
        us.lookup("ada".into()),
        Ok("us/ada#1".into()),
        "the region is part of the key"
    );

    let mut directory = Directory {
        region: "eu",
        upstream: Upstream::new(),
    };
    assert_eq!(directory.by_id(7).await, Ok("7#1".into()));
    assert_eq!(directory.by_id(7).await, Ok("7#1".into()));
}

#[tokio::test(start_paused = true)]
async fn borrowed_arguments_are_keyed_by_an_owned_copy() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache]
    async fn greet(name: &str, times: u8) -> Result<String, ApiError> {
        UPSTREAM.call(&name.repeat(usize::from(times)))
    }

    let name = String::from("ab");
    assert_eq!(greet(&name, 2).await, Ok("abab#1".into()));
    assert_eq!(greet("ab", 2).await, Ok("abab#1".into()));
    assert_eq!(greet("ab", 3).await, Ok("ababab#2".into()));
}

#[test]
fn a_panicking_load_does_not_wedge_the_key() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[stale_cache(retries = 0)]
    fn fragile(id: u32) -> Result<u32, ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst);
        assert!(call > 0, "the first load panics");
        Ok(id)
    }

    assert!(std::panic::catch_unwind(|| fragile(1)).is_err());
    assert_eq!(fragile(1), Ok(1), "the next caller loads again");
}

#[tokio::test(start_paused = true)]
async fn capacity_bounds_the_entries() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[stale_cache(capacity = 100)]
    async fn square(n: u64) -> Result<u64, ApiError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(n * n)
    }

    for n in 0..10_000 {
        square(n).await.unwrap();
    }
    assert_eq!(CALLS.load(Ordering::SeqCst), 10_000);
    // Recent keys may still be there; most of the early ones are not.
    let before = CALLS.load(Ordering::SeqCst);
    for n in 0..1_000 {
        square(n).await.unwrap();
    }
    assert!(
        CALLS.load(Ordering::SeqCst) - before > 800,
        "evicted past capacity"
    );
}

#[tokio::test(start_paused = true)]
async fn refreshed_stale_and_failed_are_three_distinct_events() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(maxage = 1, tolerance = 5, retries = 0)]
    async fn profile(id: String) -> Result<String, ApiError> {
        UPSTREAM.call(&id)
    }

    let (recorder, _guard) = Recorder::install();
    profile("ev".into()).await.unwrap();
    advance(Duration::from_secs(1)).await;
    profile("ev".into()).await.unwrap(); // refreshed
    UPSTREAM.set_down(true);
    advance(Duration::from_secs(2)).await;
    profile("ev".into()).await.unwrap(); // stale, age 2 s
    advance(Duration::from_secs(4)).await;
    profile("ev".into()).await.unwrap_err(); // too old: error
    profile("new".into()).await.unwrap_err(); // nothing cached: error

    let events = recorder.events();
    let outcomes: Vec<_> = events
        .iter()
        .map(|e| (e.level, e.field("outcome").unwrap_or_default().to_string()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (tracing::Level::INFO, "refreshed".to_string()),
            (tracing::Level::WARN, "stale".to_string()),
            (tracing::Level::ERROR, "error".to_string()),
            (tracing::Level::ERROR, "error".to_string()),
        ],
        "{events:?}"
    );
    let field = |name| events.iter().map(|e| e.field(name)).collect::<Vec<_>>();
    // The age of the value replaced, served stale, too old; none cached.
    assert_eq!(
        field("age_ms"),
        [Some("1000"), Some("2000"), Some("6000"), None]
    );
    let error = field("error");
    assert_eq!(error[0], None);
    assert!(
        error[1..]
            .iter()
            .all(|e| e.is_some_and(|e| e.starts_with("503")))
    );
    assert!(events[1].field("function").unwrap().ends_with("::profile"));
}

#[tokio::test(start_paused = true)]
async fn a_sync_function_s_cache_ages_on_the_paused_clock() {
    static UPSTREAM: Upstream = Upstream::new();
    #[stale_cache(maxage = 3, tolerance = 15, retries = 0)]
    fn config(env: &'static str) -> Result<String, ApiError> {
        UPSTREAM.call(env)
    }

    assert_eq!(config("prod"), Ok("prod#1".to_string()));
    advance(Duration::from_secs(2)).await;
    assert_eq!(config("prod"), Ok("prod#1".to_string()), "fresh at 2 s");
    advance(Duration::from_secs(1)).await;
    UPSTREAM.set_down(true);
    assert_eq!(
        config("prod"),
        Ok("prod#1".to_string()),
        "expired at 3 s on the paused clock: refreshed, failed, served stale"
    );
    assert_eq!(UPSTREAM.calls(), 2, "the expiry made one refresh call");
}

/// `max_bytes`: values weighed by `Weigh` (here `Vec<u8>`'s bytes), at most
/// 10 000 bytes kept; a value heavier than the bound is served every time
/// and never kept, so each request for it loads it.
#[test]
fn max_bytes_keeps_the_light_values_and_serves_a_heavy_one_without_keeping_it() {
    static LOADS: AtomicU32 = AtomicU32::new(0);

    #[stale_cache(maxage = 3600, tolerance = 7200, max_bytes = 10_000, retries = 0)]
    fn blob(size: usize) -> Result<Vec<u8>, ApiError> {
        LOADS.fetch_add(1, Ordering::SeqCst);
        Ok(vec![7; size])
    }

    // Light: loaded once, then fresh hits.
    assert_eq!(blob(1_000).unwrap().len(), 1_000);
    assert_eq!(blob(1_000).unwrap().len(), 1_000);
    assert_eq!(LOADS.load(Ordering::SeqCst), 1);
    // Heavier than max_bytes: served, not kept.
    assert_eq!(blob(20_000).unwrap().len(), 20_000);
    assert_eq!(blob(20_000).unwrap().len(), 20_000);
    assert_eq!(LOADS.load(Ordering::SeqCst), 3);
    // The light value is still there.
    assert_eq!(blob(1_000).unwrap().len(), 1_000);
    assert_eq!(LOADS.load(Ordering::SeqCst), 3);
}

/// A generic function gets a cache per instantiation: `T = u8` and
/// `T = u64` keep their own values for the same key, and each is loaded
/// once while fresh.
#[tokio::test(start_paused = true)]
async fn each_instantiation_of_a_generic_function_has_its_own_cache() {
    static LOADS: AtomicU32 = AtomicU32::new(0);

    #[stale_cache(maxage = 60, tolerance = 600, retries = 0)]
    async fn get_json<T: std::str::FromStr + Clone + Send + Sync + 'static>(
        body: String,
    ) -> Result<T, ApiError> {
        LOADS.fetch_add(1, Ordering::SeqCst);
        body.parse().map_err(|_| ApiError::Unavailable(0))
    }

    assert_eq!(get_json::<u8>("7".into()).await.unwrap(), 7_u8);
    assert_eq!(get_json::<u64>("7".into()).await.unwrap(), 7_u64);
    assert_eq!(
        LOADS.load(Ordering::SeqCst),
        2,
        "one load per instantiation"
    );
    assert_eq!(get_json::<u8>("7".into()).await.unwrap(), 7_u8);
    assert_eq!(get_json::<u64>("7".into()).await.unwrap(), 7_u64);
    assert_eq!(
        LOADS.load(Ordering::SeqCst),
        2,
        "each fresh in its own cache"
    );
    // One instantiation's value is never served as another's.
    assert_eq!(get_json::<i32>("-7".into()).await.unwrap(), -7_i32);
    assert_eq!(LOADS.load(Ordering::SeqCst), 3);
}
