//! Attribute macros that make an existing function survive a failing
//! dependency, without changing its signature or its call sites.
//!
//! | attribute | what it does | Python it replaces |
//! | --- | --- | --- |
//! | [`#[retry]`](retry) | retries transient errors with backoff | `tenacity.retry` |
//! | [`#[breaker]`](breaker) | cuts off a failing dependency with a named circuit breaker | `pybreaker.CircuitBreaker` |
//! | [`#[fallback]`](fallback) | answers from a fallback function instead of an error | `try`/`except` at each call site |
//! | [`#[stale_cache]`](stale_cache) | serves cached data, and stale data when a refresh fails | the `lru_cache` stale-data decorator |
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
//! `tokio::time::Instant`, so a test that calls `tokio::time::pause()` drives
//! all of it without sleeping. Async functions wait with `tokio::time::sleep`
//! (they need a tokio runtime with the time driver enabled); sync functions
//! wait with `std::thread::sleep`.
//!
//! # Events
//!
//! Every event has target `resilience` and draws its fields from one
//! vocabulary:
//!
//! | field | meaning |
//! | --- | --- |
//! | `function` | `module::path::function_name` of the decorated function |
//! | `attempt` | the attempt the event is about, from 1 |
//! | `max_attempts` | the `max` of `#[retry]` |
//! | `error` | the error, by `Display`, else `Debug`, else its type name |
//! | `delay_ms` | the wait before the next attempt |
//! | `elapsed_ms` | time since the call began |
//! | `outcome` | how a call ended: `recovered`, `exhausted`, `not_retried` |
//! | `breaker` | the name of a circuit breaker |
//! | `state` | the state a breaker entered: `closed`, `open`, `half-open` |
//! | `failure_rate` | the failure share of the window that opened a breaker |
//!
//! # Circuit breakers
//!
//! [`circuit`] holds the breakers, their process-wide registry (state,
//! counts, `reset`, `force_open` and state-change listeners by name) and
//! [`CircuitOpen`], the error a rejected call turns into.
//!
//! # Stacking
//!
//! The attributes compose like Python decorators: the top one is the
//! outermost layer, and wraps everything below it. The documented order is
//!
//! ```text
//! #[fallback(fn = ..)]     answers when everything below gave up
//! #[stale_cache(..)]       serves stale data when the refresh below fails
//! #[breaker(name = ..)]    one outcome per call, retries included
//! #[retry(..)]             attempts the call
//! fn ...
//! ```
//!
//! - `#[breaker]` above `#[retry]`: one call with all its retries is one
//!   outcome for the breaker, and a call the open breaker rejects is never
//!   retried. The other order counts every attempt and retries rejections —
//!   the ordering resilience4j applies by default (its issue #2383).
//! - `#[stale_cache]` above `#[breaker]`: while the breaker is open, a
//!   cached value within `tolerance` still answers.
//! - `#[fallback]` on top: it answers only when nothing below could, with
//!   the error that got through (the open breaker's included).
//!
//! With `#[retry]` below it, give `#[stale_cache]` `retries = 0`: the retry
//! layer already does the retrying.
#![warn(missing_docs)]

#[doc(inline)]
pub use resilience_macros::{breaker, fallback, retry, stale_cache};

pub mod retry_policy;
pub use retry_policy::{Backoff, Jitter, RetryPolicy};

pub mod circuit;
pub use circuit::CircuitOpen;
pub mod cache;

mod clock;

#[doc(hidden)]
pub mod __private;
