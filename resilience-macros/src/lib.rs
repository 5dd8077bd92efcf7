//! Procedural macros of [`resilience-runtime`](https://docs.rs/resilience-runtime).
//!
//! Depend on `resilience-runtime`, which re-exports these attributes and
//! holds the behaviour they wire in; this crate only parses and expands.
#![warn(missing_docs)]

mod args;
mod expand;
mod item;

use proc_macro::TokenStream;

use expand::Kind;

#[doc = include_str!("../docs/retry.md")]
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Retry, args.into(), item.into()).into()
}

#[doc = include_str!("../docs/fallback.md")]
#[proc_macro_attribute]
pub fn fallback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Fallback, args.into(), item.into()).into()
}

#[doc = include_str!("../docs/breaker.md")]
#[proc_macro_attribute]
pub fn breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Breaker, args.into(), item.into()).into()
}

#[doc = include_str!("../docs/stale_cache.md")]
#[proc_macro_attribute]
pub fn stale_cache(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::StaleCache, args.into(), item.into()).into()
}

#[doc = include_str!("../docs/timeout.md")]
#[proc_macro_attribute]
pub fn timeout(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Timeout, args.into(), item.into()).into()
}
