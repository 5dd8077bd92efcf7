//! What makes an attribute: one type per attribute implements [`Attribute`],
//! and [`ALL`] lists them, so that a stack can find the ones below the first.
//!
//! Adding an attribute (say `#[bulkhead]`) is:
//!
//! 1. `args/bulkhead.rs`: its keys, a `BulkheadArgs` implementing
//!    [`Keys`] (name, keys, how each value parses, checks across keys);
//! 2. `expand/bulkhead.rs`: `impl Attribute for BulkheadArgs` (what it
//!    cannot do with a function, and the code it wraps around the inner
//!    layers, calling the runtime through `__private`);
//! 3. one line in [`ALL`], and its `#[proc_macro_attribute]` in `lib.rs`
//!    with its docs in `docs/bulkhead.md`.

use proc_macro2::TokenStream;
use syn::Path;

use crate::args::breaker::BreakerArgs;
use crate::args::bulkhead::BulkheadArgs;
use crate::args::fallback::FallbackArgs;
use crate::args::retry::RetryArgs;
use crate::args::stale_cache::StaleCacheArgs;
use crate::args::timeout::TimeoutArgs;
use crate::args::{self, Keys, Parsed};
use crate::expand::Context;
use crate::item::Function;

/// One resilience attribute: what it cannot do with a function, and the
/// layer it wraps around what is below it in the stack. The same type
/// implements [`Keys`]: its name, the keys it takes, how each value parses.
pub(crate) trait Attribute {
    /// What this attribute cannot do with this function, as one error at
    /// the token to change.
    fn check(&self, _function: &Function) -> syn::Result<()> {
        Ok(())
    }

    /// The layer: `inner` (the layers below, down to the user's body) run
    /// under this attribute's behaviour, as an expression of the function's
    /// return type.
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream;

    /// Whether the arguments are needed again after `inner` ran (to run it
    /// again, or to pass them on), so that each run of the body must take
    /// its own copy of the owned ones.
    fn needs_arguments_again(&self) -> bool {
        false
    }

    /// Whether it runs a retry loop around `inner`, whose attempt the body
    /// can read with `attempt::current()`.
    fn retry_loop(&self) -> bool {
        false
    }

    /// Whether it may run `inner` after the call has returned (a background
    /// refresh): a retry loop around it is then not the body's.
    fn runs_after_the_call(&self) -> bool {
        false
    }

    /// Whether `inner` runs inside a block that borrows the owned arguments
    /// (to copy them per attempt), so that they must be bound `mut` first.
    fn borrows_arguments(&self) -> bool {
        false
    }
}

/// One attribute of a stack, parsed.
pub(crate) struct Layer {
    /// The attribute's name, for messages.
    pub(crate) name: &'static str,
    pub(crate) attribute: Box<dyn Attribute>,
}

/// Parses one attribute's arguments into its layer, and its `crate = ..`.
pub(crate) type ParseLayer = fn(TokenStream) -> syn::Result<(Layer, Option<Path>)>;

/// Every attribute of this crate, by name.
pub(crate) const ALL: &[(&str, ParseLayer)] = &[
    entry::<RetryArgs>(),
    entry::<BreakerArgs>(),
    entry::<BulkheadArgs>(),
    entry::<FallbackArgs>(),
    entry::<StaleCacheArgs>(),
    entry::<TimeoutArgs>(),
];

pub(crate) const fn entry<A: Attribute + Keys + 'static>() -> (&'static str, ParseLayer) {
    (A::ATTRIBUTE, parse_layer::<A>)
}

fn parse_layer<A: Attribute + Keys + 'static>(
    tokens: TokenStream,
) -> syn::Result<(Layer, Option<Path>)> {
    let Parsed { keys, krate } = args::parse::<A>(tokens)?;
    let layer = Layer {
        name: A::ATTRIBUTE,
        attribute: Box::new(keys),
    };
    Ok((layer, krate))
}

/// The parser of the attribute called `name`, if it is one of ours.
pub(crate) fn named(name: &str) -> Option<(&'static str, ParseLayer)> {
    ALL.iter()
        .copied()
        .find(|(attribute, _)| *attribute == name)
}
