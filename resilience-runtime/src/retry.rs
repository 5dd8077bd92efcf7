//! `#[retry]`: the [`RetryPolicy`] a call's waits come from, the attempt
//! loop generated code drives, and the [`attempt`] a call is on.
//!
//! [`RetryPolicy`] is what `#[retry(...)]` builds from its keys, as a
//! `static` in the decorated function. It is plain data with `const`
//! builders, so it can also be built and inspected by hand:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::retry::{Backoff, Jitter, RetryPolicy};
//!
//! let policy = RetryPolicy::new()
//!     .max_attempts(4)
//!     .backoff(Backoff::Exponential)
//!     .delay(Duration::from_millis(100))
//!     .jitter(Jitter::None);
//!
//! // Waits before the 2nd, 3rd and 4th attempts:
//! let waits: Vec<_> = (1..4).map(|retry| policy.base_delay(retry)).collect();
//! assert_eq!(waits, [
//!     Duration::from_millis(100),
//!     Duration::from_millis(200),
//!     Duration::from_millis(400),
//! ]);
//! ```

pub mod attempt;
pub(crate) mod attempts;
pub mod budget;
mod counts;
mod policy;
pub(crate) mod sync_loop;

pub use counts::{RetryCount, retries};
pub use policy::{Backoff, Jitter, RetryPolicy};
