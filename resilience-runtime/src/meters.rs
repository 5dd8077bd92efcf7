//! The crate's metrics, and the only file that knows the `metrics` crate.
//!
//! With the `metrics` feature off, every type here is an empty struct and
//! every function does nothing, so the hooks that call them compile the
//! same either way and nothing of `metrics` is built.
//!
//! Hot paths (a breaker's closed path, a cache hit) never look a metric up
//! by name: a breaker registers its handles when it is built
//! ([`BreakerMeters`]), a cache on its first request ([`CacheMeters`]).
//! Retries and fallbacks are failure paths, so they look their counter up
//! by name each time. A handle registered before a recorder is installed
//! stays a no-op: the recorder must be installed before the first call.

use crate::cache::Outcome;
use crate::circuit::{CallOutcome, State};

#[cfg(feature = "metrics")]
pub(crate) use enabled::*;

#[cfg(not(feature = "metrics"))]
pub(crate) use disabled::*;

#[cfg(feature = "metrics")]
mod enabled {
    use std::sync::{Once, OnceLock};

    use metrics::{Counter, Gauge, Unit};

    use super::*;

    /// `retry_attempts_total{function}`: attempts after the first.
    const RETRY_ATTEMPTS_TOTAL: &str = "retry_attempts_total";
    /// `breakers_state{breaker}`: 0 closed, 1 open, 2 half-open.
    const BREAKERS_STATE: &str = "breakers_state";
    /// `breaker_calls_total{breaker, outcome}`.
    const BREAKER_CALLS_TOTAL: &str = "breaker_calls_total";
    /// `fallback_invocations_total{function}`.
    const FALLBACK_INVOCATIONS_TOTAL: &str = "fallback_invocations_total";
    /// `stale_cache_requests_total{function, outcome}`.
    const STALE_CACHE_REQUESTS_TOTAL: &str = "stale_cache_requests_total";
    /// `fleet_errors_total{kind}`: Redis operations of the fleet tier that failed.
    #[cfg(feature = "redis")]
    const FLEET_ERRORS_TOTAL: &str = "fleet_errors_total";
    /// `timeouts_total{function}`.
    const TIMEOUTS_TOTAL: &str = "timeouts_total";

    /// Describes every metric to the recorder, once per process, on the
    /// first registration of any of them.
    fn describe() {
        static DESCRIBED: Once = Once::new();
        DESCRIBED.call_once(|| {
            metrics::describe_counter!(
                RETRY_ATTEMPTS_TOTAL,
                Unit::Count,
                "Retries made by #[retry]: attempts after the first"
            );
            metrics::describe_gauge!(
                BREAKERS_STATE,
                "State of each circuit breaker: 0 closed, 1 open, 2 half-open"
            );
            metrics::describe_counter!(
                BREAKER_CALLS_TOTAL,
                Unit::Count,
                "Calls through each circuit breaker, by outcome: success, failure, rejected"
            );
            metrics::describe_counter!(
                FALLBACK_INVOCATIONS_TOTAL,
                Unit::Count,
                "Calls answered by the #[fallback] function"
            );
            metrics::describe_counter!(
                STALE_CACHE_REQUESTS_TOTAL,
                Unit::Count,
                "Requests to each #[stale_cache], by outcome: fresh, refreshed, stale, miss, error"
            );
            #[cfg(feature = "redis")]
            metrics::describe_counter!(
                FLEET_ERRORS_TOTAL,
                Unit::Count,
                "Redis operations of the fleet tier that failed, by kind: timeout, error, malformed"
            );
            metrics::describe_counter!(
                TIMEOUTS_TOTAL,
                Unit::Count,
                "Calls cut off by #[timeout] at their deadline"
            );
        });
    }

    /// One failed Redis operation of the fleet tier (an error path).
    #[cfg(feature = "redis")]
    pub(crate) fn count_fleet_error(kind: &'static str) {
        describe();
        metrics::counter!(target: "resilience", FLEET_ERRORS_TOTAL, "kind" => kind).increment(1);
    }

    /// One retry of `function`.
    pub(crate) fn count_retry(function: &'static str) {
        describe();
        metrics::counter!(target: "resilience", RETRY_ATTEMPTS_TOTAL, "function" => function)
            .increment(1);
    }

    /// One answer of `function`'s fallback.
    pub(crate) fn count_fallback(function: &'static str) {
        describe();
        metrics::counter!(target: "resilience", FALLBACK_INVOCATIONS_TOTAL, "function" => function)
            .increment(1);
    }

    /// One call of `function` cut off by `#[timeout]`.
    pub(crate) fn count_timeout(function: &'static str) {
        describe();
        metrics::counter!(target: "resilience", TIMEOUTS_TOTAL, "function" => function)
            .increment(1);
    }

    /// A breaker's handles, registered when the breaker is built.
    pub(crate) struct BreakerMeters {
        /// Indexed by `CallOutcome as usize`.
        calls: [Counter; 3],
        /// `None` for the breaker of one key of a keyed name.
        state: Option<Gauge>,
    }

    impl BreakerMeters {
        /// Registers the handles of breaker `name`, and sets its state gauge
        /// to closed so the series exists before the first transition.
        pub(crate) fn register(name: &'static str) -> Self {
            let mut meters = Self::register_keyed(name);
            let state = metrics::gauge!(target: "resilience", BREAKERS_STATE, "breaker" => name);
            state.set(f64::from(State::Closed.as_gauge()));
            meters.state = Some(state);
            meters
        }

        /// The handles of one key's breaker of the keyed name `name`: the
        /// name's call counters, shared by all its keys, and no state gauge
        /// (a series per key would make the labels unbounded; one series
        /// for many states would mean nothing).
        pub(crate) fn register_keyed(name: &'static str) -> Self {
            describe();
            let calls = CallOutcome::ALL.map(|outcome| {
                metrics::counter!(
                    target: "resilience", BREAKER_CALLS_TOTAL,
                    "breaker" => name, "outcome" => outcome.as_str()
                )
            });
            Self { calls, state: None }
        }

        /// Whether there are counters to count into: callers skip their
        /// per-thread tallies when not.
        pub(crate) const ENABLED: bool = true;

        /// `calls` calls ended with `outcome`: an increment of a held handle.
        /// The breaker batches its calls per thread (`circuit::events`), so
        /// that threads do not write one shared counter on every call.
        #[inline]
        pub(crate) fn add(&self, outcome: CallOutcome, calls: u64) {
            self.calls[outcome as usize].increment(calls);
        }

        /// The breaker entered `state`.
        pub(crate) fn state(&self, state: State) {
            if let Some(gauge) = &self.state {
                gauge.set(f64::from(state.as_gauge()));
            }
        }
    }

    /// A cache's handles, registered on its first request under the
    /// function name that request gives.
    #[derive(Clone, Default)]
    pub(crate) struct CacheMeters {
        registered: OnceLock<(&'static str, [Counter; 5])>,
    }

    impl CacheMeters {
        /// No handles yet.
        pub(crate) fn new() -> Self {
            Self::default()
        }

        /// One request of `function` was answered with `outcome`.
        ///
        /// After the first request: one atomic load, a pointer comparison
        /// and the increment. A cache used under several function names (by
        /// hand; `#[stale_cache]` always gives one) looks the others up by
        /// name.
        #[inline]
        pub(crate) fn count(&self, function: &'static str, outcome: Outcome) {
            let (name, requests) = self
                .registered
                .get_or_init(|| (function, register_cache(function)));
            if std::ptr::eq(*name, function) || *name == function {
                requests[outcome as usize].increment(1);
            } else {
                count_by_name(function, outcome);
            }
        }
    }

    #[cold]
    fn register_cache(function: &'static str) -> [Counter; 5] {
        describe();
        Outcome::ALL.map(|outcome| cache_counter(function, outcome))
    }

    #[cold]
    #[inline(never)]
    fn count_by_name(function: &'static str, outcome: Outcome) {
        cache_counter(function, outcome).increment(1);
    }

    fn cache_counter(function: &'static str, outcome: Outcome) -> Counter {
        metrics::counter!(
            target: "resilience", STALE_CACHE_REQUESTS_TOTAL,
            "function" => function, "outcome" => outcome.as_str()
        )
    }
}

#[cfg(not(feature = "metrics"))]
mod disabled {
    use super::{CallOutcome, Outcome, State};

    #[inline(always)]
    pub(crate) fn count_retry(_function: &'static str) {}

    #[cfg(feature = "redis")]
    pub(crate) fn count_fleet_error(_kind: &'static str) {}

    #[inline(always)]
    pub(crate) fn count_fallback(_function: &'static str) {}

    #[inline(always)]
    pub(crate) fn count_timeout(_function: &'static str) {}

    pub(crate) struct BreakerMeters;

    impl BreakerMeters {
        #[inline(always)]
        pub(crate) fn register(_name: &'static str) -> Self {
            Self
        }

        #[inline(always)]
        pub(crate) fn register_keyed(_name: &'static str) -> Self {
            Self
        }

        pub(crate) const ENABLED: bool = false;

        #[inline(always)]
        pub(crate) fn add(&self, _outcome: CallOutcome, _calls: u64) {}

        #[inline(always)]
        pub(crate) fn state(&self, _state: State) {}
    }

    #[derive(Clone, Default)]
    pub(crate) struct CacheMeters;

    impl CacheMeters {
        #[inline(always)]
        pub(crate) fn new() -> Self {
            Self
        }

        #[inline(always)]
        pub(crate) fn count(&self, _function: &'static str, _outcome: Outcome) {}
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    //! Each test records into a recorder of its own, made current on its
    //! thread with `metrics::with_local_recorder`: handles registered inside
    //! keep counting into it afterwards, and no test sees another's counts.

    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use metrics::{
        Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use crate::__private::{Attempts, fallback_invoked};
    use crate::cache::{CacheConfig, StaleCache};
    use crate::circuit::{Breaker, BreakerConfig};
    use crate::retry_policy::{Jitter, RetryPolicy};

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
        let hosts = crate::circuit::KeyedBreakers::new("meters-hosts", BreakerConfig::new());
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
            crate::timed_out::expired("app::hung", Duration::from_secs(2));
            crate::timed_out::expired("app::hung", Duration::from_secs(2));
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
    async fn a_fast_thread_hands_its_calls_over_in_batches_that_lag_by_under_64() {
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
                counted <= made && made - counted < 64,
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
    fn a_cache_used_under_another_name_counts_that_name_too() {
        let series = Series::default();
        let cache: StaleCache<u8, u8> = StaleCache::new(CacheConfig::new());
        let describe = |_: &(), _: &mut std::fmt::Formatter<'_>| Ok(());
        metrics::with_local_recorder(&series, || {
            let _ = cache.get_or_load_blocking(1, "first", || Ok(1), describe);
            let _ = cache.get_or_load_blocking(1, "second", || Ok(1), describe);
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
}
