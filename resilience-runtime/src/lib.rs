//! Attribute macros that make an existing function survive a failing
//! dependency, without changing its signature or its call sites.
//!
//! | attribute | what it does | Python it replaces |
//! | --- | --- | --- |
//! | [`#[retry]`](macro@retry) | retries transient errors with backoff | `tenacity.retry` |
//! | [`#[breaker]`](macro@breaker) | cuts off a failing dependency with a named circuit breaker | `pybreaker.CircuitBreaker` |
//! | [`#[fallback]`](fallback) | answers from a fallback function instead of an error | `try`/`except` at each call site |
//! | [`#[stale_cache]`](macro@stale_cache) | serves cached data, and stale data when a refresh fails | the `lru_cache` stale-data decorator |
//! | [`#[timeout]`](timeout) | cuts off an `async fn` call at a deadline, with [`TimedOut`] | `asyncio.wait_for`, Polly `Timeout` |
//! | [`#[bulkhead]`](macro@bulkhead) | lets at most `max_concurrent` calls run at once, with [`BulkheadFull`] for the rest | an `asyncio.Semaphore` around the call, resilience4j `Bulkhead` |
//!
//! ```
//! use resilience_runtime::retry;
//!
//! #[derive(Debug)]
//! struct ApiError;
//!
//! #[retry(max = 3, backoff = "exp", delay = "100ms")]
//! async fn fetch_user_profile(user_id: String) -> Result<String, ApiError> {
//!     Ok(format!("profile of {user_id}"))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! assert_eq!(fetch_user_profile("42".into()).await.unwrap(), "profile of 42");
//! # }
//! ```
//!
//! # Time
//!
//! Every wait and every age is measured on one clock,
//! `tokio::time::Instant`. Async functions wait with `tokio::time::sleep`
//! (they need a tokio runtime with the time driver enabled); sync functions
//! wait with `std::thread::sleep`. On a paused tokio runtime
//! (`#[tokio::test(start_paused = true)]`):
//!
//! - an async function never sleeps: the paused clock skips its waits;
//! - breaker windows and open periods, cache ages and the `elapsed_ms` of
//!   events follow the paused clock, for sync functions too, and
//!   `tokio::time::advance` moves them;
//! - a sync function's waits are real time, during which the paused clock
//!   stands still. Tests of sync functions stay fast with the attribute's
//!   own keys: `backoff = "none"`, a small `delay`, `retries = 0` on a
//!   `#[stale_cache]`.
//!
//! **One coarse tick.** To spare a clock read per call, a sync call outside
//! a tokio runtime judges a cache hit's age and a breaker's rejection, and
//! dates a retried call's start, on its thread's last reading of the clock
//! while the operating system's coarse clock has not ticked since. That
//! reading is less than one coarse tick old:
//!
//! | platform | coarse clock | one tick |
//! | --- | --- | --- |
//! | Linux, Android | `CLOCK_MONOTONIC_COARSE` | one kernel tick: 4 ms at the common 250 Hz (1 ms at 1000 Hz, 10 ms at 100 Hz) |
//! | FreeBSD | `CLOCK_MONOTONIC_FAST` | one timer tick: 1 ms at the default `kern.hz` of 1000 |
//! | Windows | `GetTickCount64` | one system timer tick: 10 to 16 ms |
//! | any other (macOS included) | — | none: the clock is read exactly on every call |
//!
//! On macOS the coarse clock (`CLOCK_MONOTONIC_RAW_APPROX`) is a value Apple
//! documents only as possibly milliseconds old, and the other platforms
//! document no bound either, so there nothing is reused. Inside a tokio
//! runtime (whose clock may be paused) the clock is always read exactly.
//!
//! # Events
//!
//! Every event has target `resilience` and draws its fields from one
//! vocabulary, the same for all the attributes. Numbers are recorded as
//! numbers and text as text, so a structured subscriber (the JSON layer of
//! `tracing-subscriber`, for one) prints each field as a typed value.
//!
//! | field | meaning | in the events of |
//! | --- | --- | --- |
//! | `function` | `module::path::function_name` of the decorated function | retry, fallback, stale cache, timeout, chaos |
//! | `attempt` | the attempt the event is about, from 1 | retry |
//! | `max_attempts` | the `max` of `#[retry]` | retry |
//! | `error` | the error, by `Display`, else `Debug`, else its type name | retry, fallback, stale cache |
//! | `delay_ms` | the wait before the next attempt | retry |
//! | `elapsed_ms` | time since the call began (for a timeout: its bound) | retry, timeout |
//! | `outcome` | how it ended. Retry: `recovered` (succeeded after retrying), `exhausted` (every attempt failed), `not_retried` (the `when` predicate refused the error), `retry_budget_exhausted` (the retry budget refused a retry). Stale cache: `refreshed` (an expired value was replaced), `stale` (a refresh failed and a stale value is served, or a background refresh failed), `error` (a load failed with nothing within tolerance to serve) | retry, stale cache |
//! | `age_ms` | age of the cached value the event is about: the one replaced (`refreshed`), served (`stale`), or too old to serve (`error`, when there was one) | stale cache |
//! | `budget` | the name of the [retry budget](retry::budget) that refused a retry | retry |
//! | `bulkhead` | the name of the [bulkhead](mod@bulkhead) that turned a call away (with `max_concurrent` and `max_wait_ms`) | bulkhead |
//! | `breaker` | the name of a circuit breaker | breaker, chaos |
//! | `key` | the key of a keyed breaker (`#[breaker(key = ..)]`), as `Debug` prints it | breaker |
//! | `state` | the state a breaker entered: `closed`, `open`, `half-open` | breaker |
//! | `failure_rate` | the failure share of the window that opened a breaker | breaker |
//! | `origin` | where a breaker's transition came from: `local`, or `fleet` (another instance, feature `redis`) | breaker |
//! | `fault` | the fault a call met, injected by `chaos` (feature `chaos`): `error`, `latency`, `hang` (with `latency_ms`, the injected wait) | chaos |
//! | `error_type` | the error type of a function that no registered chaos error maker makes (told once per injection; the call goes on) | chaos |
//! | `trace_id` | the request's trace id, on the `request` span of `recovery::RecoveryLayer` (feature `tower`) | every event inside a request |
//!
//! Levels: a retry is a warning, giving up an error, a recovery or a refused
//! error informational; a fallback is a warning; a breaker opening is a
//! warning, its other transitions informational; a stale value served is a
//! warning, a refresh informational, a load with nothing to serve an error;
//! a call cut off by `#[timeout]` is a warning; an injected fault is a
//! warning.
//!
//! # Metrics
//!
//! With the `metrics` feature (on by default), the attributes count what
//! they do through the [`metrics`](https://docs.rs/metrics) facade, under
//! these Prometheus names; the application installs the recorder, which
//! picks the exporter (`metrics-exporter-prometheus`, for one):
//!
//! | metric | kind | labels | counts |
//! | --- | --- | --- | --- |
//! | `retry_attempts_total` | counter | `function` | retries: attempts after the first (a call that succeeds at once adds nothing) |
//! | `retry_budget_exhausted_total` | counter | `budget` | retries a [retry budget](retry::budget) refused: the call returned its error at once |
//! | `breakers_state` | gauge | `breaker` | the state: 0 closed, 1 open, 2 half-open; set when the breaker is created, so it exists before the first transition. Not reported for a keyed breaker |
//! | `breaker_calls_total` | counter | `breaker`, `outcome` = `success`, `failure`, `rejected` | calls through a breaker, and calls it rejected while open; a keyed breaker's keys all count under its name |
//! | `fallback_invocations_total` | counter | `function` | answers given by a `#[fallback]` function |
//! | `stale_cache_requests_total` | counter | `function`, `outcome` = `fresh`, `refreshed`, `stale`, `miss`, `error` | requests to a stale cache, by how they were answered (a value served from the fleet's Redis counts as `fresh`) |
//! | `fleet_errors_total` | counter | `kind` = `timeout`, `error`, `malformed` | Redis operations of the fleet tier that failed (feature `redis`; see the `fleet` module) |
//! | `timeouts_total` | counter | `function` | calls cut off by `#[timeout]` at their deadline |
//! | `bulkhead_inflight` | gauge | `bulkhead` | calls running through a [bulkhead](mod@bulkhead) |
//! | `bulkhead_limit` | gauge | `bulkhead` | calls a bulkhead lets run at once |
//! | `bulkhead_rejected_total` | counter | `bulkhead` | calls a full bulkhead turned away: they did not run |
//! | `chaos_injections_total` | counter | `target` (a function's path or a breaker's name), `fault` = `error`, `latency`, `hang` | faults injected by `chaos` (feature `chaos`) |
//!
//! **Install the recorder before the first decorated call.** To keep the
//! breaker's closed path and the cache's hit path free of look-ups, a
//! breaker registers its metric handles when it is created (on its first
//! call) and a cache on its first request, and keeps them: handles taken
//! before a recorder exists count into nothing for the life of the process.
//!
//! **Fresh hits are counted in batches.** So that threads hitting one cache
//! write no counter in common, each thread adds its fresh hits of a cache to
//! `stale_cache_requests_total{outcome = "fresh"}` every 256 hits, when it
//! finishes a load through that cache, when it calls
//! [`StaleCache::run_pending_tasks`](stale_cache::StaleCache::run_pending_tasks),
//! and when it exits: the counter lags by fewer than 256 per thread and
//! cache, and loses nothing. Every other count is added at once.
//!
//! **`breaker_calls_total` is counted in per-thread batches.** So that
//! threads calling one healthy breaker do not all write one shared counter,
//! each thread keeps its outcomes and adds them to the counter every 256
//! of a kind, at every failure, and whenever it reads the clock afresh
//! unless it calls at full speed (one reading serving 64 calls): a thread
//! whose calls come more than about 1.5 µs apart hands them over at least
//! every 32, a slow one (calls more than 100 µs apart) at once. The
//! counter may lag by up to 255 outcomes per kind and thread that made
//! fast calls and then stopped, until that thread's next failure, its exit,
//! or a call of [`flush_metrics`], which hands every thread's batch over:
//! call it before you render or push your metrics. Nothing is lost: a
//! thread's batch is handed over when it exits, a dropped breaker's when it
//! is dropped, and the keys of a keyed breaker count into their name's
//! batches, so a key dropped from the map takes nothing with it.
//!
//! With `default-features = false`, nothing of `metrics` is compiled in.
//!
//! # Recovery per request
//!
//! [`recovery::scope`] collects what happened while a request was served —
//! retries, fallbacks, stale values and their age, breaker rejections — for
//! the application to read; with the `tower` feature,
//! `recovery::RecoveryLayer` writes it on each HTTP response as
//! `X-Retry-Count`, `X-Fallback`, `X-Stale-Age`, `X-Chaos-Faults` and
//! `X-Trace-Id` headers.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `metrics` | on | the counters and gauge above, through the `metrics` facade |
//! | `tower` | off | `recovery::RecoveryLayer`, a tower layer for axum, tonic or any tower stack; `status::StatusService`, the live status page with manual breaker controls |
//! | `redis` | off | `fleet`: `shared = true` on `#[stale_cache]` and `#[breaker]` shares stale data and breaker state across replicas over Redis |
//! | `redis-tls` | off | `rediss://` URLs for the fleet (rustls) |
//! | `chaos` | off | `chaos`: inject errors, latency and hangs into decorated functions and breakers at run time, seeded, to rehearse an outage; off, nothing of it is compiled in |
//!
//! # The fleet tier (feature `redis`)
//!
//! Replicas of a service can share what one of them learned, over Redis:
//! connect once at start-up with `fleet::connect(url, namespace)`, then
//! `#[stale_cache(shared = true)]` keeps the local cache as the first tier
//! and Redis as the second (a restarted replica serves stale data another
//! one loaded; one refresh per key across the fleet), and
//! `#[breaker(shared = true)]` opens every replica's breaker when one opens
//! (one half-open probe across the fleet; the closed path stays local). A
//! fresh hit and a closed breaker do no Redis work, and a slow or lost Redis
//! never fails a call: every Redis operation is bounded (50 ms) and the
//! call goes on locally. The `fleet` module documents what Redis holds, for
//! how long, and the consistency promised.
//!
//! # Circuit breakers
//!
//! [`breaker`](mod@breaker) holds the breakers, their process-wide registry (state,
//! counts, `reset`, `force_open` and state-change listeners by name) and
//! [`CircuitOpen`], the error a rejected call turns into; and
//! [`breaker::KeyedBreakers`], one breaker per key (per host) under one
//! name, in a bounded map.
//!
//! # Stacking
//!
//! The attributes compose like Python decorators: the top one is the
//! outermost layer, and wraps everything below it. The documented order is
//!
//! ```text
//! #[fallback(fn = ..)]     answers when everything below gave up
//! #[stale_cache(..)]       serves stale data when the refresh below fails
//! #[bulkhead(..)]          a slot for the whole call, retries included
//! #[breaker(name = ..)]    one outcome per call, retries included
//! #[retry(..)]             attempts the call
//! #[timeout(after = ..)]   bounds each attempt (async only)
//! async fn ...
//! ```
//!
//! - `#[breaker]` above `#[retry]`: one call with all its retries is one
//!   outcome for the breaker, and a call the open breaker rejects is never
//!   retried. The other order counts every attempt and retries rejections —
//!   the ordering resilience4j applies by default (its issue #2383).
//! - `#[stale_cache]` above `#[breaker]`: while the breaker is open, a
//!   cached value within `tolerance` still answers.
//! - `#[bulkhead]` above `#[breaker]` and `#[retry]`: a call holds one slot
//!   for all its attempts, so retries never multiply the calls running at
//!   once; a full bulkhead is overload on this side, never counted by the
//!   breaker as the dependency failing; and an open breaker's rejection
//!   gives its slot back at once.
//! - `#[fallback]` on top: it answers only when nothing below could, with
//!   the error that got through (the open breaker's included).
//! - `#[timeout]` below `#[retry]` bounds each attempt, and a timed-out
//!   attempt is retried; above `#[retry]` it bounds the whole call, waits
//!   included. Below `#[breaker]`, a timed-out call is a breaker failure.
//!
//! With `#[retry]` below it, give `#[stale_cache]` `retries = 0`: the retry
//! layer already does the retrying.
#![warn(missing_docs)]

#[doc(inline)]
pub use resilience_macros::{breaker, bulkhead, fallback, retry, stale_cache, timeout};

// One module per attribute, named after it (the macro of the same name
// lives in the macro namespace beside it).
pub mod breaker;
pub mod bulkhead;
#[cfg(feature = "chaos")]
pub mod chaos;
mod fallback;
pub mod retry;
pub mod stale_cache;
mod timeout;

pub use breaker::CircuitOpen;
pub use bulkhead::BulkheadFull;

/// Adds every count the attributes keep back for a batch to its counter,
/// so that the counters are exact when you read them: call it before you
/// render or push your metrics.
///
/// To spare threads a write to a shared counter on every call, a breaker's
/// outcomes and a cache's fresh hits are counted per thread and handed over
/// in batches (see [Metrics](crate#metrics)). This hands over, at once,
/// what every thread kept back for `breaker_calls_total` (of every breaker,
/// keyed or not, live threads included), and what the calling thread kept
/// back for `stale_cache_requests_total{outcome = "fresh"}` (another
/// thread's fresh hits are handed over by that thread: every 256, and when
/// it exits). It costs a lock and a pass over the breakers' per-thread
/// counts: call it per scrape, not per call. Without the `metrics` feature
/// it does nothing.
///
/// ```
/// use resilience_runtime::breaker::{Breaker, BreakerConfig};
///
/// fn render_metrics() -> String {
///     resilience_runtime::flush_metrics();
///     // ... then render the recorder's state, e.g. with
///     // metrics_exporter_prometheus::PrometheusHandle::render().
///     String::new()
/// }
///
/// let breaker = Breaker::new("inventory", BreakerConfig::new());
/// for _ in 0..1_000 {
///     breaker.try_acquire().unwrap().record(false);
/// }
/// let _body = render_metrics(); // counts all 1 000 calls
/// ```
pub fn flush_metrics() {
    meters::flush();
}
pub use retry::{Backoff, Jitter, RetryPolicy, attempt};
pub use timeout::TimedOut;

// The parts the attributes share.
mod clock;
mod describe;
#[cfg(feature = "redis")]
pub mod fleet;
mod meters;
pub mod recovery;
#[cfg(feature = "tower")]
pub mod status;
#[cfg(test)]
mod test_events;
pub mod testing;

#[doc(hidden)]
pub mod __private;
