//! Serve stale data on error: the runtime of `#[stale_cache]`.
//!
//! A [`StaleCache`] answers each request for a key by these rules, the ones
//! of the Python "return stale data on error" decorator, minus its defects:
//!
//! | the cached value | what happens |
//! | --- | --- |
//! | younger than `maxage` (fresh) | returned; no call |
//! | expired, or missing | loaded; a success is stored (aged 0) and returned |
//! | expired, load failed, age ≤ `tolerance` | the stale value is returned (warning event with its age) |
//! | missing or older than `tolerance`, load failed | the error is returned (error event) |
//!
//! - Only `Ok` values are stored. A first call that fails returns its error
//!   and caches nothing (the Python original crashes there).
//! - `tolerance` is the total age since the load, as in Python
//!   (`age <= stale_tolerance`), not RFC 5861's `stale-if-error`, which
//!   counts from expiry: see [`CacheConfig`].
//! - Single flight: concurrent callers of one expired or missing key share
//!   one load, in sync code (blocking) and async code (awaiting); different
//!   keys never wait for each other. If the load fails its waiters serve the
//!   stale value within tolerance, else get a copy of its error when
//!   `#[stale_cache]`'s error type is `Clone + Send + Sync + 'static` (a cold
//!   key during an outage costs one upstream call), else each loads at once
//!   (see [`errors`]). A load that panics, or whose future is dropped,
//!   releases the key: the next caller loads again.
//! - With [`Refresh::Background`], an expired value within tolerance is
//!   returned at once and one refresh runs behind it (RFC 5861
//!   stale-while-revalidate); see [`Request::revalidate`](request::Request::revalidate).
//! - At most `capacity` entries are kept, chosen by moka (W-TinyLFU, which
//!   hears of every request), and entries older than `tolerance` are
//!   evicted; see [`CacheConfig::capacity`]. Ages are read on the crate's
//!   one clock, `tokio::time::Instant`, a sync hit outside a runtime within a
//!   coarse tick (see [`CacheConfig::maxage`]).
//! - Retries are not done here: `#[stale_cache(retries = ..)]` wraps them
//!   around the load it hands in.
//!
//! # Events
//!
//! Target `resilience`, one per load, emitted by the caller that ran it:
//!
//! | level | when | fields |
//! | --- | --- | --- |
//! | info | an expired value was replaced | `function`, `age_ms` (of the replaced value), `outcome = "refreshed"` |
//! | warn | a load failed and a stale value is served, or a background refresh failed | `function`, `error`, `age_ms`, `outcome = "stale"` |
//! | error | a load failed with nothing within tolerance to serve | `function`, `error`, `age_ms` (if a too-old value existed), `outcome = "error"` |
//! | warn | a loaded value weighs more than `max_bytes`: served, not kept (once per cache) | `function`, `bytes`, `max_bytes` |
//!
//! Every request, fresh hits and waiters included, also has an outcome,
//! `fresh`, `refreshed`, `stale`, `miss` or `error`, counted as
//! `stale_cache_requests_total{function, outcome}` (feature `metrics`; see
//! the [crate docs](crate#metrics)); a request answered with a stale value
//! also records it, with its age, in the [recovery scope](crate::recovery).
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let cache: StaleCache<String, String> = StaleCache::new(
//!     CacheConfig::new().maxage(Duration::from_secs(3)).tolerance(Duration::from_secs(15)),
//! );
//! let describe = |error: &std::io::Error, f: &mut std::fmt::Formatter<'_>| write!(f, "{error}");
//! let up = || async { Ok("profile v1".to_string()) };
//! let down = || async { Err(std::io::Error::other("timeout")) };
//!
//! let key = "user-42".to_string();
//! assert_eq!(cache.request(key.clone(), "doc").describe(describe).load(up()).await.unwrap(), "profile v1");
//!
//! tokio::time::advance(Duration::from_secs(10)).await; // expired, within tolerance
//! assert_eq!(cache.request(key.clone(), "doc").describe(describe).load(down()).await.unwrap(), "profile v1");
//!
//! tokio::time::advance(Duration::from_secs(10)).await; // 20 s: beyond tolerance
//! assert!(cache.request(key, "doc").describe(describe).load(down()).await.is_err());
//! # }
//! ```

/// A doc test of a request, `cache.request(key, function)` then `call`, its
/// names bound in hidden lines (a fleet only if one is connected: in doc
/// tests, none is), run `async` or `blocking`: for the request API's runs
/// and the forwarders to them.
macro_rules! request_example {
    ($mode:ident [$($fleet:ident)?] $($call:tt)*) => {
        concat!(
            "```\n",
            "# use resilience_runtime::stale_cache::{CacheConfig, StaleCache};\n",
            request_example!(@$mode main),
            $("# let Some(", stringify!($fleet), ") = resilience_runtime::fleet::connected() else { return };\n",)?
            "# let cache: StaleCache<String, u64> = StaleCache::new(CacheConfig::new());\n",
            "# let (key, function) = (\"k\".to_string(), \"doc\");\n",
            "# let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str(\"down\");\n",
            "# let load = ", request_example!(@$mode load), ";\n",
            "let value = cache.request(key, function)", stringify!($($call)*), ";\n",
            "assert_eq!(value, Ok(7));\n",
            request_example!(@$mode end),
            "```",
        )
    };
    (@async main) => { "# #[tokio::main(flavor = \"current_thread\")] async fn main() {\n" };
    (@async load) => { "async { Ok::<_, ()>(7) }" };
    (@async end) => { "# }\n" };
    (@blocking main) => { "" };
    (@blocking load) => { "|| Ok::<_, ()>(7)" };
    (@blocking end) => { "" };
}

mod cache;
mod config;
mod deprecated;
pub mod errors;
mod flight;
mod index;
mod listing;
mod load_loop;
mod meters;
mod popularity;
mod refresher;
mod report;
pub mod request;
#[cfg(feature = "redis")]
mod shared;
pub(crate) mod slot;
mod stored;
mod tally;
mod weigh;

pub use cache::StaleCache;
pub use config::{CacheConfig, Refresh};
pub use listing::{CacheSummary, caches};
pub use weigh::Weigh;

/// What keys and values need, as the request API's `load` methods state it
/// (each with a diagnostic that names the fix).
pub use crate::__private::{CacheKey, CacheValue};
/// What a shared cache's keys and values need (`serde`, feature `redis`).
#[cfg(feature = "redis")]
pub use crate::__private::{SharedCacheKey, SharedCacheValue};

pub(crate) use errors::{DescribeOnly, ShareClones};
pub(crate) use tally::flush_thread;

#[cfg(test)]
mod bounds_tests;
#[cfg(test)]
mod index_tests;
#[cfg(test)]
mod tests;
