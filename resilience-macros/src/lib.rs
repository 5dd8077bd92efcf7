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

/// Retries a function that returned `Err`, with backoff.
///
/// Documented in full at `resilience_runtime::retry`.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::attribute(Kind::Retry, args.into(), item.into()).into()
}
