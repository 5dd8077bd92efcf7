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
mod fallback;
mod retry;
mod stale_cache;
mod timeout;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Attribute, ItemFn, Meta, Path};

use crate::args::{self, Errors, Parsed, as_written, error};
use crate::item::Function;

/// The attributes of this crate.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Retry,
    Breaker,
    Fallback,
    StaleCache,
    Timeout,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Retry,
        Kind::Breaker,
        Kind::Fallback,
        Kind::StaleCache,
        Kind::Timeout,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Retry => "retry",
            Kind::Breaker => "breaker",
            Kind::Fallback => "fallback",
            Kind::StaleCache => "stale_cache",
            Kind::Timeout => "timeout",
        }
    }
}

/// One attribute of the stack, parsed.
enum Layer {
    Retry(args::retry::RetryArgs),
    Breaker(args::breaker::BreakerArgs),
    Fallback(args::fallback::FallbackArgs),
    StaleCache(args::stale_cache::StaleCacheArgs),
    Timeout(args::timeout::TimeoutArgs),
}

impl Layer {
    fn parse(kind: Kind, tokens: TokenStream) -> syn::Result<(Layer, Option<Path>)> {
        fn parsed<K: args::Keys>(
            tokens: TokenStream,
            layer: fn(K) -> Layer,
        ) -> syn::Result<(Layer, Option<Path>)> {
            let Parsed { keys, krate } = args::parse(tokens)?;
            Ok((layer(keys), krate))
        }
        match kind {
            Kind::Retry => parsed(tokens, Layer::Retry),
            Kind::Breaker => parsed(tokens, Layer::Breaker),
            Kind::Fallback => parsed(tokens, Layer::Fallback),
            Kind::StaleCache => parsed(tokens, Layer::StaleCache),
            Kind::Timeout => parsed(tokens, Layer::Timeout),
        }
    }

    /// The attribute's name, for messages.
    fn name(&self) -> &'static str {
        match self {
            Layer::Retry(_) => Kind::Retry.name(),
            Layer::Breaker(_) => Kind::Breaker.name(),
            Layer::Fallback(_) => Kind::Fallback.name(),
            Layer::StaleCache(_) => Kind::StaleCache.name(),
            Layer::Timeout(_) => Kind::Timeout.name(),
        }
    }

    /// Whether the arguments are needed again after what is inside the
    /// layer ran (to run it again, or to pass them on), so that each attempt
    /// must take its own copy of the owned ones.
    fn needs_arguments_again(&self) -> bool {
        match self {
            Layer::Retry(_) | Layer::Fallback(_) => true,
            Layer::Breaker(_) | Layer::Timeout(_) => false,
            // Its load retries; a background load also runs after the call.
            Layer::StaleCache(args) => args.retries() > 0,
        }
    }

    /// Whether the layer runs a retry loop around what is inside it.
    fn retries(&self) -> bool {
        match self {
            Layer::Retry(_) => true,
            Layer::Breaker(_) | Layer::Fallback(_) | Layer::Timeout(_) => false,
            Layer::StaleCache(args) => args.retries() > 0,
        }
    }

    /// Whether the layer runs what is inside it after the call returned.
    fn refreshes_in_background(&self) -> bool {
        matches!(self, Layer::StaleCache(args) if args.refresh() == args::stale_cache::Refresh::Background)
    }

    /// What this layer cannot do with this function.
    fn check(&self, function: &Function) -> syn::Result<()> {
        match self {
            Layer::Retry(_) => retry::check(function),
            Layer::Fallback(args) => fallback::check(args, function),
            Layer::Breaker(args) => breaker::check(args, function),
            Layer::StaleCache(args) => stale_cache::check(args, function),
            Layer::Timeout(_) => timeout::check(function),
        }
    }

    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        match self {
            Layer::Retry(args) => retry::wrap(args, context, inner),
            Layer::Fallback(args) => fallback::wrap(args, context, inner),
            Layer::Breaker(args) => breaker::wrap(args, context, inner),
            Layer::StaleCache(args) => stale_cache::wrap(args, context, inner),
            Layer::Timeout(args) => timeout::wrap(args, context, inner),
        }
    }
}

/// What every layer's expansion refers to.
pub(crate) struct Context<'a> {
    pub(crate) function: &'a Function,
    /// `::resilience_runtime::__private`, or under `crate = ...`.
    pub(crate) private: TokenStream,
    /// Each attempt copies the owned arguments (some layer runs what is
    /// inside it again, or needs the arguments after it).
    pub(crate) fresh_arguments: bool,
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

/// `when(&error)`, or `true` without `when`. The error is located at the
/// path, so a predicate of the wrong type is reported at `when = ...`.
pub(crate) fn predicate(when: Option<&Path>, failure: &syn::Ident) -> TokenStream {
    match when {
        Some(when) => {
            let span = syn::spanned::Spanned::span(when);
            let mut failure = failure.clone();
            failure.set_span(span.resolved_at(failure.span()));
            quote::quote_spanned!(span=> #when(&#failure))
        }
        None => quote!(true),
    }
}

/// A description of the error for events: its `Display`, else its
/// `Debug`, else its type name, so that `E` needs no trait.
pub(crate) fn describe_error(private: &TokenStream, failure: &syn::Ident) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use #private::{DescribeDebug as _, DescribeDisplay as _, DescribeOpaque as _};
        (&&&#private::ErrorRef(&#failure)).describe()
    }}
}

/// `tokens`, every one located at `span`: for a generated path whose
/// trait-bound error should point at the user's code.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// A `Duration` constant, exact to the nanosecond.
pub(crate) fn duration_tokens(private: &TokenStream, duration: std::time::Duration) -> TokenStream {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    quote!(#private::Duration::from_nanos(#nanos))
}

/// Expands `#[kind(args)]` on `item`. On any error, the errors and the
/// function as written (its resilience attributes marked expanded), so that
/// the user sees those errors and nothing that follows from them.
pub(crate) fn attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    if is_expanded_marker(&args) {
        return item;
    }
    match expand(kind, args, item.clone()) {
        Ok(expanded) => expanded,
        Err(errors) => {
            let mut output = errors.to_compile_error();
            output.extend(without_stack(item));
            output
        }
    }
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut function = Function::parse(item, kind.name())?;
    let mut errors = Errors::default();
    let stack = split_stack(&mut function.outer_attrs, &mut errors);

    let mut layers = Vec::new();
    let mut krate = None;
    for (kind, tokens) in std::iter::once((kind, args)).chain(stack) {
        match Layer::parse(kind, tokens) {
            Ok((layer, layer_crate)) => {
                if let Err(e) = layer.check(&function) {
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
    let fresh_arguments = layers.iter().any(Layer::needs_arguments_again);
    let context = Context {
        function: &function,
        private: quote!(#krate::__private),
        fresh_arguments,
    };
    if let Some(layer) = layers.iter().find(|layer| layer.needs_arguments_again()) {
        check_impl_arguments_clone(&function, layer.name())?;
    }
    // The nearest retry loop around the attempt, unless a background
    // refresh lies between: that load runs after the call, apart from it.
    let retried = layers
        .iter()
        .rev()
        .find(|layer| layer.retries() || layer.refreshes_in_background())
        .is_some_and(Layer::retries);
    let mut body = attempt::expand(&context, fresh_arguments, retried);
    for layer in layers.iter().rev() {
        body = layer.wrap(&context, body);
    }
    // A `#[timeout]` block borrows these uniquely; see expand/timeout.rs.
    if fresh_arguments && layers.iter().any(|l| matches!(l, Layer::Timeout(_))) {
        let rebind = timeout::owned_arguments(&function)
            .map(|name| quote!(#[allow(unused_mut)] let mut #name = #name;));
        body = quote!({ #(#rebind)* #body });
    }
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

/// Which resilience attribute `attr` is, by the last segment of its path:
/// `retry`, `resilience_runtime::retry`, and also `res::retry` under a
/// renamed dependency or `use resilience_runtime as res` — a stack written
/// with a renamed path must not go unseen, or its order would flip.
fn stack_kind(attr: &Attribute) -> Option<Kind> {
    let last = attr.path().segments.last()?;
    Kind::ALL.into_iter().find(|kind| last.ident == kind.name())
}

const EXPANDED: &str = "__resilience_expanded";

fn is_expanded_marker(args: &TokenStream) -> bool {
    let mut tokens = args.clone().into_iter();
    matches!((tokens.next(), tokens.next()), (Some(proc_macro2::TokenTree::Ident(ident)), None) if ident == EXPANDED)
}

/// `#[name(__resilience_expanded)]`: the attribute, already expanded.
fn mark_expanded(attr: &mut Attribute) {
    let path = attr.path().clone();
    let marker = syn::Ident::new(EXPANDED, Span::call_site());
    attr.meta = Meta::List(syn::MetaList {
        path,
        delimiter: syn::MacroDelimiter::Paren(Default::default()),
        tokens: quote!(#marker),
    });
}

/// Reads the resilience attributes below this one, and marks them expanded.
fn split_stack(attrs: &mut [Attribute], errors: &mut Errors) -> Vec<(Kind, TokenStream)> {
    let mut stack = Vec::new();
    for attr in attrs {
        let Some(kind) = stack_kind(attr) else {
            continue;
        };
        match &attr.meta {
            Meta::Path(_) => stack.push((kind, TokenStream::new())),
            Meta::List(list) if is_expanded_marker(&list.tokens) => continue,
            Meta::List(list) => stack.push((kind, list.tokens.clone())),
            Meta::NameValue(pair) => errors.push(error(
                syn::spanned::Spanned::span(pair),
                format!(
                    "`#[{} = ...]` is not how the attribute takes its keys",
                    kind.name()
                ),
                format!("write `#[{}(key = value, ...)]`", kind.name()),
            )),
        }
        mark_expanded(attr);
    }
    stack
}

/// The item as written, its resilience attributes marked expanded.
fn without_stack(item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(mut function) => {
            for attr in function
                .attrs
                .iter_mut()
                .filter(|attr| stack_kind(attr).is_some())
            {
                mark_expanded(attr);
            }
            function.into_token_stream()
        }
        Err(_) => item,
    }
}
