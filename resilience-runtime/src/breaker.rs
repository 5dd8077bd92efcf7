//! Circuit breakers: stop calling a dependency that keeps failing, and probe
//! it again after a while.
//!
//! This is the runtime behind `#[breaker]`, usable by hand:
//!
//! ```
//! use resilience_runtime::CircuitOpen;
//! use resilience_runtime::breaker::{BreakerConfig, BreakerSlot};
//!
//! #[derive(Debug)]
//! enum ApiError {
//!     Unavailable(CircuitOpen),
//!     Status(u16),
//! }
//!
//! impl From<CircuitOpen> for ApiError {
//!     fn from(open: CircuitOpen) -> Self {
//!         ApiError::Unavailable(open)
//!     }
//! }
//!
//! static PROFILES: BreakerSlot = BreakerSlot::new("profile-service", BreakerConfig::new());
//!
//! fn fetch_profile(id: u32) -> Result<String, ApiError> {
//!     let permit = PROFILES.breaker().try_acquire()?;
//!     let outcome = if id == 0 { Err(ApiError::Status(503)) } else { Ok(format!("user {id}")) };
//!     permit.record(outcome.is_err());
//!     outcome
//! }
//!
//! assert_eq!(fetch_profile(7).unwrap(), "user 7");
//! ```
//!
//! # The cycle
//!
//! - **Closed**: calls go through and their outcomes are counted in a
//!   time-based sliding window ([`BreakerConfig::window`]). Once at least
//!   [`min_calls`](BreakerConfig::min_calls) calls are in the window and the
//!   share of failures *exceeds* [`failure_rate`](BreakerConfig::failure_rate)
//!   (equal does not), the breaker opens. Every outcome is judged, a success
//!   as much as a failure.
//! - **Open**: calls are rejected with [`CircuitOpen`] without being made,
//!   for [`open_for`](BreakerConfig::open_for).
//! - **Half-open**: the first call after `open_for` turns the breaker
//!   half-open. [`half_open_calls`](BreakerConfig::half_open_calls) probe
//!   calls go through at once and the rest are rejected; when that many
//!   probes have succeeded the breaker closes with an empty window, and the
//!   first probe that fails opens it again. Probes that have not ended
//!   within [`probe_timeout`](BreakerConfig::probe_timeout) count as failed.
//!
//! A call whose permit is dropped without an outcome (its future was
//! dropped, or it panicked) counts as neither success nor failure, and a
//! probe's slot is given back. Nothing is poisoned by a panic. The one
//! exception is a call cut off at its deadline by a `#[timeout]` above the
//! breaker: it failed (see [`Permit`]).
//!
//! # Names and the registry
//!
//! Breakers of one name share one state process-wide, through the
//! [`registry()`]: state, counts, [`reset`](Breaker::reset),
//! [`force_open`](Breaker::force_open) and state-change listeners by name. A
//! name registered twice with different configurations keeps the first and
//! warns at run time (see [`Registry::get_or_register`]).
//!
//! # Keyed breakers
//!
//! [`KeyedBreakers`] keeps one breaker per key under one name
//! (`#[breaker(name = "hosts", key = host)]`), in a bounded map: at most
//! [`DEFAULT_MAX_KEYS`] keys unless told otherwise, the closed breakers used
//! least recently dropped first and an open one only when no closed one
//! idles. A key's breaker keeps one window, shared by the threads calling
//! that key, where a breaker of a name alone keeps one per thread. The
//! registry lists a keyed name's breakers with
//! [`Registry::keyed_breakers`]; their calls count into the name's metrics,
//! with no label per key.
//!
//! # Events
//!
//! Every transition emits one `tracing` event, target `resilience`, with the
//! fields `breaker` (the name), `state` (the new state: `closed`, `open`,
//! `half-open`) and, when a failure share decided it, `failure_rate`.
//! Opening is a warning; the other transitions are informational.
//!
//! # Metrics
//!
//! With the `metrics` feature, each breaker reports `breakers_state{breaker}`
//! (0 closed, 1 open, 2 half-open, set when the breaker is created) and
//! `breaker_calls_total{breaker, outcome}` (`success`, `failure`,
//! `rejected`) through handles it registers once; a rejection is also
//! recorded in the [recovery scope](crate::recovery). See the
//! [crate docs](crate#metrics).
//!
//! # Cost
//!
//! The closed path — [`Breaker::try_acquire`] and [`Permit::record`] of a
//! success — takes no lock, allocates nothing, formats nothing and writes no
//! cache line another thread writes: it reads the breaker's state word,
//! dates the call by the thread's recent reading of the clock (read afresh
//! every call for a thread that calls slowly, every up to 64 calls for one
//! that calls fast; [`Breaker`] states the bound), and counts
//! it — for the window and for `breaker_calls_total` — in the calling
//! thread's own shard (a keyed breaker's window is the key's one shard,
//! which the threads calling that key update by compare-and-swap; a key's
//! look-up in its map takes no lock). A rejected call, open or half-open, takes no lock
//! either, and outside a tokio runtime it reads the clock at most once per
//! coarse clock tick (so it may come up to one tick, 4 ms on Linux at
//! 250 Hz, past `open_for`; each platform's tick is in
//! [the crate docs](crate#time)). See the crate's benchmarks.

mod config;
mod error;
mod events;
mod keyed;
mod machine;
mod meters;
mod registry;
mod slot;
mod state;
mod tally;
mod window;

pub use config::BreakerConfig;
pub use error::CircuitOpen;
pub(crate) use events::CallOutcome;
pub use keyed::{BreakerKey, DEFAULT_MAX_KEYS, KeyedBreakerSlot, KeyedBreakers};
pub use machine::{Breaker, Permit};
pub use registry::{Registry, registry};
pub use slot::BreakerSlot;
pub use state::{OpenPeriod, Origin, State, StateChange, WindowCounts};
pub(crate) use tally::flush_all;

#[cfg(test)]
mod consecutive_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod throttle_tests;
