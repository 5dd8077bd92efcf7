//! `#[stale_cache]`: look the key up; on a miss or an expired entry, run what
//! is inside (with its own retries) as the load, once per key however many
//! callers wait for it. The runtime's `StaleCache` decides fresh, refreshed,
//! stale or error.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Type;
use syn::spanned::Spanned as _;

use super::{Context, duration_tokens, respan};
use crate::args::retry::{Backoff, Jitter, RetryArgs};
use crate::args::stale_cache::{Refresh, StaleCacheArgs};
use crate::args::{Spanned, error};
use crate::attribute::Attribute;
use crate::item::{Function, Input, Passing};

impl Attribute for StaleCacheArgs {
    fn check(&self, function: &Function) -> syn::Result<()> {
        check(self, function)
    }
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
    /// Its load retries; a background load also runs after the call.
    fn needs_arguments_again(&self) -> bool {
        self.retries() > 0
    }
    fn retry_loop(&self) -> bool {
        self.retries() > 0
    }
    fn runs_after_the_call(&self) -> bool {
        self.refresh() == Refresh::Background
    }
}

fn check(args: &StaleCacheArgs, function: &Function) -> syn::Result<()> {
    // A generic function is cached per instantiation, as a method of a
    // generic `impl` is: the cache is named by `instance_of(&|| ())`, whose
    // closure type carries every type parameter (see the runtime's `slot.rs`).
    // What a type parameter cannot be (not `Clone`, not `'static`, …) is
    // reported by the value's and key's own bounds, naming the fix.
    if args.key.is_none() {
        if function.receiver.is_some() {
            return Err(error(
                function.sig.inputs.span(),
                "`#[stale_cache]` on a method needs `key = ...`",
                "say what identifies a result, with or without the receiver: `key = (self.region.clone(), user_id)` or `key = user_id`",
            ));
        }
        if let Some(input) = function
            .inputs
            .iter()
            .find(|input| matches!(input.ty, Type::ImplTrait(_)))
        {
            return Err(error(
                input.span,
                "`#[stale_cache]` cannot make an `impl Trait` argument part of its key",
                "choose the key yourself: `key = ...`",
            ));
        }
    }
    if args.refresh() == Refresh::Background {
        let borrowed = function.receiver.is_some()
            || function
                .inputs
                .iter()
                .any(|input| input.passing != Passing::Owned && !is_static_reference(input));
        if borrowed {
            let span = args.refresh.map_or(Span::call_site(), |r| r.span);
            return Err(error(
                span,
                "`refresh = \"background\"` refreshes after the call has returned, so the refresh cannot borrow `self` or the arguments",
                "take owned arguments (or `&'static` ones) in a free function, or use `refresh = \"inline\"`",
            ));
        }
    }
    Ok(())
}

fn wrap(args: &StaleCacheArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let private = &context.private;
    let function = context.function;
    let background = args.refresh() == Refresh::Background;
    let load_body = match args.retries() {
        0 => inner,
        // A background load runs after the call: its loop is a call of its own.
        retries => refresh_retries(retries).wrap(
            &Context {
                in_retry_loop: context.in_retry_loop && !background,
                ..context.clone()
            },
            inner,
        ),
    };
    // A background load outlives the call: it owns copies of the arguments
    // (copies, so that an outer `#[fallback]` still has the originals).
    let own_copies: Vec<_> = if background {
        function
            .inputs
            .iter()
            .filter(|input| input.passing == Passing::Owned && input.pattern.is_some())
            .map(|input| {
                let name = &input.name;
                // `mut`: a `#[timeout]` inside borrows it uniquely (expand/timeout.rs).
                quote_spanned!(input.span=> #[allow(unused_mut)] let mut #name = #private::clone_argument(&#name);)
            })
            .collect()
    } else {
        Vec::new()
    };
    let load = match (function.is_async(), background) {
        (true, false) => quote!(async { #load_body }),
        (true, true) => quote!(async move { #load_body }),
        (false, false) => quote!(|| #load_body),
        (false, true) => quote!(move || #load_body),
    };
    // The runtime's request API: `request(..)` (or `shared_request(..)`,
    // through the fleet), `.revalidate()` for a background refresh, then
    // `.load(..).await` or `.load_blocking(..)`.
    let call = if args.shared() {
        "shared_request"
    } else {
        "request"
    };
    let revalidate = background.then(|| quote_spanned!(function.output.span()=> .revalidate()));
    let run = if function.is_async() {
        "load"
    } else {
        "load_blocking"
    };
    let run = syn::Ident::new(run, function.output.span());
    // At the return type, as the cache's bounds are: a key part that is not
    // `Serialize` is then one error there, not a second at the attribute.
    let call = syn::Ident::new(call, function.output.span());
    let (cache_for, identity) = if args.shared() {
        // The identity of its entries in Redis: the name given, or the
        // instantiation's own path (its `Self` type and generics included).
        let identity = match &args.name {
            Some(name) => quote!(#name),
            None => quote!(#private::fleet_identity(&|| ())),
        };
        let version = args.version.map_or(0, |v| v.value);
        (
            quote!(shared_cache_for),
            Some(quote!(, #identity, #version)),
        )
    } else {
        (quote!(cache_for), None)
    };
    // `max_bytes = ..`: the same cache, its values weighed by `Weigh`.
    let cache_for = if args.max_bytes.is_some() {
        let weighed = syn::Ident::new(&format!("weighed_{cache_for}"), Span::call_site());
        quote!(#weighed)
    } else {
        cache_for
    };
    let wait = function
        .is_async()
        .then(|| quote_spanned!(function.output.span()=> .await));
    let key = match &args.key {
        Some(expr) => {
            // Checked at the expression, once (see `KeyArg`).
            let private = respan(private.clone(), expr.span());
            quote_spanned! {expr.span()=> {
                #[allow(unused_imports)]
                use #private::ValidKey as _;
                #private::KeyArg(#expr).key_part()
            }}
        }
        None => default_key(context),
    };
    let config = config(args, private);
    let name = context.function_name();
    let cache_key = Context::local("__resilience_key");
    // At the return type: a value type the cache cannot store is reported there.
    let private_at_output = respan(private.clone(), function.output.span());
    let output = &function.output_in_body;
    let value_type =
        quote_spanned!(function.output.span()=> <#output as #private_at_output::ResultLike>::Ok);
    let error_type = quote!(<#output as #private::ResultLike>::Err);
    // Both calls at the return type, where each checks the value's bound:
    // one error there, the one `cache_for` states.
    let at_output = function.output.span();
    // The `static` is one for every instantiation of the function (and of
    // its `impl`); the closure's type is not, so it names the cache to use.
    let cache = quote_spanned! {at_output=>
        #private_at_output::#cache_for::<_, #value_type>(
            &__RESILIENCE_CACHE,
            #private::instance_of(&|| ())
            #identity
        )
    };
    let errors = quote!(#private::load_errors!(#error_type));
    let lookup = quote_spanned! {at_output=>
        #private_at_output::#call(#cache, #cache_key, #name, #errors) #revalidate .#run(#load)
    };
    quote! {
        {
            static __RESILIENCE_CACHE: #private::CacheSlot = #private::CacheSlot::new(#config);
            let #cache_key = #key;
            #(#own_copies)*
            #lookup #wait
        }
    }
}

/// The documented waits of a failed load: 0.1 s, then doubling, no jitter.
fn refresh_retries(retries: u32) -> RetryArgs {
    let span = Span::call_site();
    RetryArgs {
        max: Some(Spanned {
            value: retries.saturating_add(1),
            span,
        }),
        backoff: Some(Spanned {
            value: Backoff::Exponential,
            span,
        }),
        delay: Some(Spanned {
            value: Duration::from_millis(100),
            span,
        }),
        factor: Some(Spanned { value: 2.0, span }),
        max_delay: None,
        jitter: Some(Spanned {
            value: Jitter::None,
            span,
        }),
        ..RetryArgs::default()
    }
}

/// Every argument, as an owned value: cloned, or turned owned from a
/// reference (`&str` keys as `String`); `&'static` references as they are.
fn default_key(context: &Context) -> TokenStream {
    let private = &context.private;
    let parts = context.function.inputs.iter().map(|input| {
        let name = &input.name;
        let part = match input.passing {
            Passing::Owned => quote_spanned!(input.span=> ::core::clone::Clone::clone(&#name)),
            _ if is_static_reference(input) => quote_spanned!(input.span=> #name),
            Passing::Shared | Passing::Unique => {
                quote_spanned!(input.span=> ::std::borrow::ToOwned::to_owned(&*#name))
            }
        };
        // A part that is not a valid key is reported here, once, and does
        // not fail the cache call too (see `KeyArg`).
        let private = respan(private.clone(), input.span);
        quote_spanned!(input.span=> #private::KeyArg(#part).key_part())
    });
    quote! {{
        #[allow(unused_imports)]
        use #private::ValidKey as _;
        (#(#parts,)*)
    }}
}

fn is_static_reference(input: &Input) -> bool {
    matches!(&input.ty, Type::Reference(reference) if reference.lifetime.as_ref().is_some_and(|l| l.ident == "static"))
}

/// The `CacheConfig` expression: defaults from the runtime, then each key given.
fn config(args: &StaleCacheArgs, private: &TokenStream) -> TokenStream {
    let mut config = quote!(#private::CacheConfig::new());
    if let Some(maxage) = args.maxage {
        let maxage = duration_tokens(private, maxage.value);
        config.extend(quote!(.maxage(#maxage)));
    }
    if let Some(tolerance) = args.tolerance {
        let tolerance = duration_tokens(private, tolerance.value);
        config.extend(quote!(.tolerance(#tolerance)));
    }
    if let Some(capacity) = args.capacity {
        let capacity = u64::from(capacity.value);
        config.extend(quote!(.capacity(#capacity)));
    }
    if let Some(max_bytes) = args.max_bytes {
        let max_bytes = max_bytes.value;
        config.extend(quote!(.max_bytes(#max_bytes)));
    }
    if args.refresh() == Refresh::Background {
        config.extend(quote!(.refresh(#private::Refresh::Background)));
    }
    config
}
