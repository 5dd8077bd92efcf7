//! Procedural macros of [`resilience-runtime`](https://docs.rs/resilience-runtime).
//!
//! Depend on `resilience-runtime`, which re-exports these attributes and
//! holds the behaviour they wire in; this crate only parses and expands.
//! Each attribute is one type implementing `attribute::Attribute` (see
//! `CONTRIBUTING.md` for the walkthrough of adding one).
#![warn(missing_docs)]

mod args;
mod attribute;
mod expand;
mod item;

use proc_macro::TokenStream;

use args::breaker::BreakerArgs;
use args::bulkhead::BulkheadArgs;
use args::fallback::FallbackArgs;
use args::retry::RetryArgs;
use args::stale_cache::StaleCacheArgs;
use args::timeout::TimeoutArgs;

#[doc = include_str!("../docs/retry.md")]
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<RetryArgs>(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/fallback.md")]
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<FallbackArgs>(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/breaker.md")]
#[proc_macro_attribute]
pub fn breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<BreakerArgs>(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/bulkhead.md")]
#[proc_macro_attribute]
pub fn bulkhead(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<BulkheadArgs>(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/stale_cache.md")]
#[proc_macro_attribute]
pub fn stale_cache(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<StaleCacheArgs>(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/timeout.md")]
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute::<TimeoutArgs>(args.into(), item.into()).into()
}

#[cfg(test)]
mod snapshots;
