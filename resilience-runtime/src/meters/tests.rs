//! Every attribute's metrics, through the `metrics` facade. Each test
//! records into a recorder of its own, made current on its thread with `metrics::with_local_recorder`: handles registered inside
//! keep counting into it afterwards, and no test sees another's counts.

// They call the cache through its deprecated methods, kept for one release:
// each forwards to the request API, so these tests run both.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use crate::__private::{Attempts, fallback_invoked};
use crate::breaker::{Breaker, BreakerConfig};
use crate::retry::{Jitter, RetryPolicy};
use crate::stale_cache::{CacheConfig, StaleCache};

/// Every series by name and sorted labels, as `name{k=v,..}`.
#[derive(Default)]
struct Series(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Series {
    fn handle(&self, key: &Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let id = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.0.lock().unwrap().entry(id).or_default())
    }

    fn counter(&self, id: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(id)
            .map_or(0, |value| value.load(Ordering::Relaxed))
    }

    fn gauge(&self, id: &str) -> Option<f64> {
        let series = self.0.lock().unwrap();
        let bits = series.get(id)?.load(Ordering::Relaxed);
        Some(f64::from_bits(bits))
    }
}

impl Recorder for Series {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn keyed_breakers_count_calls_per_name_and_keep_no_state_series() {
    let series = Series::default();
    let hosts = crate::breaker::KeyedBreakers::new("meters-hosts", BreakerConfig::new());
    metrics::with_local_recorder(&series, || {
        for host in ["a", "b", "c"] {
            hosts
                .breaker(host.to_owned())
                .try_acquire()
                .unwrap()
                .record(false);
        }
        hosts.breaker("a".to_owned()).force_open();
    });
    assert_eq!(
        series.counter("breaker_calls_total{breaker=meters-hosts,outcome=success}"),
        3,
        "one series for every key of the name"
    );
    let names: Vec<String> = series.0.lock().unwrap().keys().cloned().collect();
    assert!(
        names
            .iter()
            .all(|name| !name.contains("key") && !name.starts_with("breakers_state")),
        "no label per key, no state gauge: {names:?}"
    );
}

#[test]
fn timeouts_are_counted_by_function() {
    let series = Series::default();
    metrics::with_local_recorder(&series, || {
        crate::timeout::expired("app::hung", Duration::from_secs(2));
        crate::timeout::expired("app::hung", Duration::from_secs(2));
    });
    assert_eq!(series.counter("timeouts_total{function=app::hung}"), 2);
}

#[test]
fn a_breaker_registers_its_gauge_closed_then_follows_its_state() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-gauge", BreakerConfig::new())
    });
    let gauge = "breakers_state{breaker=meters-gauge}";
    assert_eq!(series.gauge(gauge), Some(0.0), "set at registration");
    breaker.force_open();
    assert_eq!(series.gauge(gauge), Some(1.0));
    breaker.reset();
    assert_eq!(series.gauge(gauge), Some(0.0));
}

#[test]
fn breaker_calls_are_counted_by_outcome_through_held_handles() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-calls", BreakerConfig::new().min_calls(2))
    });
    // Outside the recorder's closure: the handles are held.
    breaker.try_acquire().unwrap().record(false);
    breaker.try_acquire().unwrap().record(true);
    breaker.try_acquire().unwrap().record(true); // 2 of 3 failed: opens
    assert!(breaker.try_acquire().is_err());
    let calls = |outcome| {
        series.counter(&format!(
            "breaker_calls_total{{breaker=meters-calls,outcome={outcome}}}"
        ))
    };
    assert_eq!(
        (calls("success"), calls("failure"), calls("rejected")),
        (1, 2, 1)
    );
    assert_eq!(
        series.gauge("breakers_state{breaker=meters-calls}"),
        Some(1.0)
    );
}

#[tokio::test(start_paused = true)]
async fn a_fast_thread_hands_its_calls_over_in_batches_that_lag_by_under_256() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-batched", BreakerConfig::new())
    });
    let calls = |outcome| {
        series.counter(&format!(
            "breaker_calls_total{{breaker=meters-batched,outcome={outcome}}}"
        ))
    };
    // Calls fast enough for the thread to reuse its clock readings.
    let step = crate::clock::STALE_BOUND / (2 * crate::clock::MAX_STRIDE);
    let mut batched = false;
    for made in 1..=1_000 {
        tokio::time::advance(step).await;
        breaker.try_acquire().unwrap().record(false);
        let counted = calls("success");
        assert!(
            counted <= made && made - counted < 256,
            "{counted} of {made}"
        );
        batched |= counted < made;
    }
    assert!(batched, "some successes were kept back for a batch");
    // A failure reads the clock exactly: everything kept is handed over.
    breaker.try_acquire().unwrap().record(true);
    assert_eq!((calls("success"), calls("failure")), (1_000, 1));
}

#[test]
fn threads_batching_their_calls_lose_none() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-threads", BreakerConfig::new().min_calls(u32::MAX))
    });
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10_000 {
                    breaker.try_acquire().unwrap().record(false);
                }
                // The last outcome of each thread hands over its batch.
                breaker.try_acquire().unwrap().record(true);
            });
        }
    });
    let calls = |outcome| {
        series.counter(&format!(
            "breaker_calls_total{{breaker=meters-threads,outcome={outcome}}}"
        ))
    };
    assert_eq!((calls("success"), calls("failure")), (40_000, 4));
}

#[test]
fn cache_requests_are_counted_by_function_and_outcome() {
    let series = Series::default();
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str("down");
    metrics::with_local_recorder(&series, || {
        let _ = cache.get_or_load_blocking(1, "app::load", || Ok(1), describe);
    });
    // A hit, outside the recorder's closure: the handles are held.
    let _ = cache.get_or_load_blocking(1, "app::load", || Err(()), describe);
    let _ = cache.get_or_load_blocking(1, "app::load", || Err(()), describe);
    // Fresh hits are counted per thread in batches: hand them over now.
    cache.run_pending_tasks();
    let requests = |outcome| {
        series.counter(&format!(
            "stale_cache_requests_total{{function=app::load,outcome={outcome}}}"
        ))
    };
    assert_eq!((requests("miss"), requests("fresh")), (1, 2));
    // Every outcome's series exists from the first request on.
    assert_eq!(requests("error"), 0);
    assert!(
        series
            .0
            .lock()
            .unwrap()
            .contains_key("stale_cache_requests_total{function=app::load,outcome=error}")
    );
}

#[test]
fn fresh_hits_counted_per_thread_are_all_counted_when_the_threads_exit() {
    let series = Series::default();
    let cache: Arc<StaleCache<u8, u8>> = Arc::new(StaleCache::new(CacheConfig::new()));
    let describe = |_: &(), _: &mut std::fmt::Formatter<'_>| Ok(());
    metrics::with_local_recorder(&series, || {
        let _ = cache.get_or_load_blocking(1, "app::hot", || Ok(1), describe);
    });
    // More than a batch (256) per thread, and not a whole number of them.
    let hits: u32 = 1_000;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                for _ in 0..hits {
                    assert_eq!(
                        cache.get_or_load_blocking(1, "app::hot", || Err(()), describe),
                        Ok(1)
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let fresh = "stale_cache_requests_total{function=app::hot,outcome=fresh}";
    assert_eq!(series.counter(fresh), 2 * u64::from(hits));
}

#[test]
fn a_cache_used_under_another_name_counts_that_name_too() {
    let series = Series::default();
    let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
    let describe = |_: &(), _: &mut std::fmt::Formatter<'_>| Ok(());
    metrics::with_local_recorder(&series, || {
        let _ = cache.get_or_load_blocking(1, "first", || Ok(1), describe);
        let _ = cache.get_or_load_blocking(1, "second", || Ok(1), describe);
        // The fresh hit, counted per thread in batches: handed over now.
        cache.run_pending_tasks();
    });
    assert_eq!(
        series.counter("stale_cache_requests_total{function=first,outcome=miss}"),
        1
    );
    assert_eq!(
        series.counter("stale_cache_requests_total{function=second,outcome=fresh}"),
        1
    );
}

#[test]
fn retries_count_attempts_after_the_first_and_fallbacks_count_answers() {
    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .delay(Duration::ZERO)
        .jitter(Jitter::None);
    let series = Series::default();
    metrics::with_local_recorder(&series, || {
        let healthy = Attempts::start(&POLICY, "app::healthy");
        healthy.succeeded();
        let mut failing = Attempts::start(&POLICY, "app::failing");
        while failing.failed(&"503", true, None).is_some() {}
        fallback_invoked("app::failing", &"503");
    });
    assert_eq!(
        series.counter("retry_attempts_total{function=app::failing}"),
        2
    );
    assert!(
        !series
            .0
            .lock()
            .unwrap()
            .contains_key("retry_attempts_total{function=app::healthy}"),
        "a healthy call adds nothing"
    );
    assert_eq!(
        series.counter("fallback_invocations_total{function=app::failing}"),
        1
    );
}

/// `successes` successes through `breaker`, fast: the thread keeps the last
/// few hundred back for a batch (1 000 = 3 × 256 + 232).
///
/// The tests below do not assert that anything was kept back: a test
/// running beside them may flush every batch, and a thread whose slot
/// owns no shard shares an overflow shard that another thread's exit
/// hands over. `a_fast_thread_hands_its_calls_over_in_batches_that_lag_by_under_256`
/// shows the batching; these show that nothing batched is lost or counted twice.
fn successes_at_full_speed(breaker: &Breaker, successes: u32) {
    let step = crate::clock::STALE_BOUND / (2 * crate::clock::MAX_STRIDE);
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(async {
            for _ in 0..successes {
                tokio::time::advance(step).await;
                breaker.try_acquire().unwrap().record(false);
            }
        });
}

#[test]
fn a_thread_that_exits_hands_over_the_calls_it_kept() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-exit", BreakerConfig::new())
    });
    let successes = || series.counter("breaker_calls_total{breaker=meters-exit,outcome=success}");
    std::thread::scope(|scope| {
        scope
            .spawn(|| successes_at_full_speed(&breaker, 1_000))
            .join()
            .unwrap();
    });
    assert_eq!(successes(), 1_000, "counted when the thread exited");
}

#[test]
fn flush_metrics_hands_over_what_live_threads_kept() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new("meters-flush", BreakerConfig::new())
    });
    let successes = || series.counter("breaker_calls_total{breaker=meters-flush,outcome=success}");
    let (kept, flushed) = (Barrier::new(2), Barrier::new(2));
    let after = std::thread::scope(|scope| {
        scope.spawn(|| {
            successes_at_full_speed(&breaker, 1_000);
            kept.wait();
            // Alive, and calling no more, until the flush is read.
            flushed.wait();
        });
        kept.wait();
        crate::flush_metrics();
        let after = successes();
        flushed.wait();
        after
    });
    assert_eq!(after, 1_000, "counted by the flush");
    assert_eq!(successes(), 1_000, "and not again when the thread exits");
}

#[test]
fn an_evicted_keyed_breaker_loses_none_of_its_calls() {
    let series = Series::default();
    let hosts = metrics::with_local_recorder(&series, || {
        let hosts =
            crate::breaker::KeyedBreakers::with_max_keys("meters-evicted", BreakerConfig::new(), 1);
        hosts.breaker("a".to_owned());
        hosts
    });
    successes_at_full_speed(&hosts.breaker("a".to_owned()), 1_000);
    let successes =
        || series.counter("breaker_calls_total{breaker=meters-evicted,outcome=success}");
    // "b" takes the one place: "a" is dropped with what it kept.
    hosts.breaker("b".to_owned());
    assert_eq!(hosts.key_count(), 1);
    assert!(hosts.get(&"a".to_owned()).is_none(), "evicted");
    crate::flush_metrics();
    assert_eq!(successes(), 1_000);
}

#[test]
fn flushing_while_threads_count_loses_and_doubles_nothing() {
    let series = Series::default();
    let breaker = metrics::with_local_recorder(&series, || {
        Breaker::new(
            "meters-flush-race",
            BreakerConfig::new().min_calls(u32::MAX),
        )
    });
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..20_000 {
                        breaker.try_acquire().unwrap().record(false);
                    }
                })
            })
            .collect();
        // Flushes racing the workers' own hand-overs, a bounded number of
        // times (a flush also hands over other tests' batches).
        for _ in 0..200 {
            crate::flush_metrics();
            std::thread::yield_now();
        }
        for worker in workers {
            worker.join().unwrap();
        }
    });
    let successes =
        series.counter("breaker_calls_total{breaker=meters-flush-race,outcome=success}");
    assert_eq!(successes, 40_000);
}

#[test]
fn a_retry_budget_counts_the_retries_it_refused_by_budget() {
    use crate::retry::budget::{self, BudgetSlot, RetryBudgetConfig};

    static SLOT: BudgetSlot = BudgetSlot::named("meters-refusing");
    static POLICY: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .delay(Duration::ZERO)
        .jitter(Jitter::None)
        .budget(&SLOT);
    let series = Series::default();
    metrics::with_local_recorder(&series, || {
        // Registered with the budget: made inside the recorder's scope.
        let rule = RetryBudgetConfig::new().ratio(0.5).min_per_sec(0);
        budget::configure("meters-refusing", rule).unwrap();
        for _ in 0..4 {
            let mut failing = Attempts::start(&POLICY, "app::charge");
            while failing.failed(&"503", true, None).is_some() {}
        }
    });
    // 4 calls earn 2 retries; each call asks until refused: 4 refusals.
    assert_eq!(
        series.counter("retry_attempts_total{function=app::charge}"),
        2
    );
    assert_eq!(
        series.counter("retry_budget_exhausted_total{budget=meters-refusing}"),
        4
    );
}

#[cfg(feature = "chaos")]
#[test]
fn chaos_injections_are_counted_by_target_and_fault() {
    use crate::__private::chaos::{breaker_point, point};
    use crate::chaos::{self, Fault};

    #[derive(Debug, PartialEq)]
    struct Injected;

    let series = Series::default();
    chaos::register_error("meters::chaos_fn", || Injected);
    chaos::register_error("meters-chaos-breaker", || Injected);
    let slow = Fault::new(1).errors(1.0).latency(Duration::from_millis(1));
    chaos::inject("meters::chaos_fn", slow).unwrap();
    chaos::inject("meters-chaos-breaker", Fault::new(2).errors(1.0)).unwrap();
    metrics::with_local_recorder(&series, || {
        for _ in 0..3 {
            let strike =
                point(crate::__private::chaos::armed(), "meters::chaos_fn").expect("injected");
            assert_eq!(strike.land_blocking().error::<Injected>(), Some(Injected));
        }
        let strike = breaker_point(crate::__private::chaos::armed(), "meters-chaos-breaker")
            .expect("injected");
        assert_eq!(strike.land_blocking().error::<Injected>(), Some(Injected));
        assert!(point(crate::__private::chaos::armed(), "meters::not_injected").is_none());
    });
    chaos::stop("meters::chaos_fn");
    chaos::stop("meters-chaos-breaker");
    let count = |id: &str| series.counter(&format!("chaos_injections_total{{{id}}}"));
    assert_eq!(count("fault=error,target=meters::chaos_fn"), 3);
    assert_eq!(count("fault=latency,target=meters::chaos_fn"), 3);
    assert_eq!(count("fault=error,target=meters-chaos-breaker"), 1);
    assert_eq!(count("fault=hang,target=meters::chaos_fn"), 0);
}
