//! From an attribute and the function under it to the wrapped function.
//!
//! Attributes stack like Python decorators, top = outermost. Rust expands
//! the top attribute first and would nest each later one *inside* it, so the
//! first resilience attribute to expand reads the ones below it and expands
//! the whole stack itself, in the written order. It leaves each of them in
//! place as `#[name(__resilience_expanded)]`, which expands to nothing: the
//! attribute's path still resolves, so its `use` is not reported unused.

mod attempt;
mod breaker;
mod bulkhead;
mod fallback;
mod retry;
mod stack;
mod stale_cache;
mod timeout;
mod tokens;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};

use crate::args::{Errors, Keys, as_written, error};
use crate::attribute::{Attribute, Layer};
use crate::item::Function;
pub(crate) use tokens::{describe_error, duration_tokens, predicate, respan};

/// What every layer's expansion refers to.
#[derive(Clone)]
pub(crate) struct Context<'a> {
    pub(crate) function: &'a Function,
    /// `::resilience_runtime::__private`, or under `crate = ...`.
    pub(crate) private: TokenStream,
    /// Each attempt copies the owned arguments (some layer runs what is
    /// inside it again, or needs the arguments after it).
    pub(crate) fresh_arguments: bool,
    /// This layer runs inside a retry loop of the same call (no background
    /// refresh between): a loop it runs goes on with that loop's attempt,
    /// its number and idempotency key.
    pub(crate) in_retry_loop: bool,
}

impl Context<'_> {
    /// `"module::path::function"`, for events.
    pub(crate) fn function_name(&self) -> TokenStream {
        let name = self.function.sig.ident.to_string();
        quote!(::core::concat!(::core::module_path!(), "::", #name))
    }

    /// A local of the generated code, invisible to the user's body.
    pub(crate) fn local(name: &str) -> syn::Ident {
        syn::Ident::new(name, Span::mixed_site())
    }
}

/// Expands `#[A(args)]` on `item`. On any error, the errors and the
/// function as written (its resilience attributes marked expanded), so that
/// the user sees those errors and nothing that follows from them.
pub(crate) fn attribute<A: Attribute + Keys + 'static>(
    args: TokenStream,
    item: TokenStream,
) -> TokenStream {
    if stack::is_expanded_marker(&args) {
        return item;
    }
    let (name, parse) = crate::attribute::entry::<A>();
    match expand(name, parse, args, item.clone()) {
        Ok(expanded) => expanded,
        Err(errors) => {
            let mut output = errors.to_compile_error();
            output.extend(stack::without_stack(item));
            output
        }
    }
}

fn expand(
    name: &str,
    parse: crate::attribute::ParseLayer,
    args: TokenStream,
    item: TokenStream,
) -> syn::Result<TokenStream> {
    let mut function = Function::parse(item, name)?;
    let mut errors = Errors::default();
    let stack = stack::split_stack(&mut function.outer_attrs, &mut errors);

    let mut layers: Vec<Layer> = Vec::new();
    let mut krate = None;
    for (parse, tokens) in std::iter::once((parse, args)).chain(stack) {
        match parse(tokens) {
            Ok((layer, layer_crate)) => {
                if let Err(e) = layer.attribute.check(&function) {
                    errors.push(e);
                }
                krate = krate.or(layer_crate);
                layers.push(layer);
            }
            Err(e) => errors.push(e),
        }
    }
    errors.finish()?;

    let krate = krate.map_or_else(
        || quote!(::resilience_runtime),
        |path| path.into_token_stream(),
    );
    let again = layers
        .iter()
        .find(|layer| layer.attribute.needs_arguments_again());
    let fresh_arguments = again.is_some();
    let context = Context {
        function: &function,
        private: quote!(#krate::__private),
        fresh_arguments,
        in_retry_loop: false,
    };
    if let Some(layer) = again {
        check_impl_arguments_clone(&function, layer.name)?;
    }
    // The nearest retry loop around the attempt, unless a background
    // refresh lies between: that load runs after the call, apart from it.
    let retried = layers
        .iter()
        .rev()
        .find(|layer| layer.attribute.retry_loop() || layer.attribute.runs_after_the_call())
        .is_some_and(|layer| layer.attribute.retry_loop());
    let mut body = attempt::expand(&context, fresh_arguments, retried);
    for (index, layer) in layers.iter().enumerate().rev() {
        let context = Context {
            in_retry_loop: in_retry_loop(&layers[..index]),
            ..context.clone()
        };
        body = layer.attribute.wrap(&context, body);
    }
    // A block that borrows the owned arguments needs them `mut`; see
    // expand/timeout.rs.
    if fresh_arguments
        && layers
            .iter()
            .any(|layer| layer.attribute.borrows_arguments())
    {
        let rebind = timeout::owned_arguments(&function)
            .map(|name| quote!(#[allow(unused_mut)] let mut #name = #name;));
        body = quote!({ #(#rebind)* #body });
    }
    // Whether a chaos injection is in force, read once for the whole call
    // (feature `chaos` of the runtime; else a constant `false`).
    let armed = Context::local(CHAOS_ARMED);
    let private = &context.private;
    body = quote!({ let #armed = #private::chaos::armed(); #body });
    let Function {
        outer_attrs,
        inner_attrs,
        vis,
        sig,
        ..
    } = &function;
    Ok(quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    })
}

/// The local that holds, for the whole call, whether a chaos injection is
/// in force: read once at its start, handed to each chaos point.
pub(crate) const CHAOS_ARMED: &str = "__resilience_chaos_armed";

/// Whether a layer under `above` (the layers above it, outermost first)
/// runs inside a retry loop of the same call: the nearest layer with a
/// loop, unless a background refresh lies between (it runs after the call,
/// apart from it). A layer that both loops and refreshes in the background
/// runs its loop inside that refresh, so the layers under it are in it.
fn in_retry_loop(above: &[Layer]) -> bool {
    above
        .iter()
        .rev()
        .find(|layer| layer.attribute.retry_loop() || layer.attribute.runs_after_the_call())
        .is_some_and(|layer| layer.attribute.retry_loop())
}

/// An owned `impl Trait` argument is cloned for each attempt, and inside
/// the function only its written bounds are known: without `Clone` among
/// them the clone cannot compile. Said here, at the type, in words — the
/// type checker's own error would name the runtime's private traits.
fn check_impl_arguments_clone(function: &Function, attribute: &str) -> syn::Result<()> {
    let mut errors = Errors::default();
    for input in &function.inputs {
        let syn::Type::ImplTrait(opaque) = &input.ty else {
            continue;
        };
        let clone = opaque.bounds.iter().any(|bound| {
            matches!(bound, syn::TypeParamBound::Trait(t)
                if t.path.segments.last().is_some_and(|s| s.ident == "Clone" || s.ident == "Copy"))
        });
        if input.pattern.is_some() && !clone {
            let written = as_written(&opaque.to_token_stream());
            errors.push(error(
                syn::spanned::Spanned::span(opaque),
                format!(
                    "`#[{attribute}]` gives each attempt its own copy of this argument, so `{written}` must be `Clone`"
                ),
                format!(
                    "write `{written} + Clone` (even when the trait implies it), or take the argument by reference"
                ),
            ));
        }
    }
    errors.finish()
}
