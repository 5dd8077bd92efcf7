//! `#[breaker]`: ask the named breaker for a permit, run what is inside,
//! and record the outcome. While the circuit is open the inside is not run
//! and the caller gets `E::from(CircuitOpen)`.
//!
//! The permit is a guard: if the call is cancelled (its future dropped) or
//! panics, dropping the permit gives a half-open probe slot back and counts
//! nothing.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens as _, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Expr, Pat};

use super::{Context, duration_tokens, predicate};
use crate::args::breaker::BreakerArgs;
use crate::args::error;
use crate::attribute::Attribute;
use crate::item::Function;

impl Attribute for BreakerArgs {
    fn check(&self, function: &Function) -> syn::Result<()> {
        check(self, function)
    }
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
}

/// `key = ..` must name an argument (or `self`): a key that names none is
/// one value for every call, or a typo.
fn check(args: &BreakerArgs, function: &Function) -> syn::Result<()> {
    let Some(key) = &args.key else {
        return Ok(());
    };
    let mut arguments: Vec<String> = function
        .inputs
        .iter()
        .filter_map(|input| match &input.pattern {
            Some(Pat::Ident(pattern)) if pattern.ident == input.name => {
                Some(input.name.to_string())
            }
            _ => None,
        })
        .collect();
    if function.receiver.is_some() {
        arguments.insert(0, "self".to_owned());
    }
    if names_any(key.to_token_stream(), &arguments) {
        return Ok(());
    }
    let written = key.to_token_stream().to_string();
    let function_name = &function.sig.ident;
    let help = if arguments.is_empty() {
        format!(
            "`{function_name}` takes no arguments to key by: remove `key`, and its calls share the breaker of the name"
        )
    } else {
        let listed: Vec<String> = arguments.iter().map(|a| format!("`{a}`")).collect();
        format!(
            "key by what tells the dependencies apart, such as `key = {}`; the arguments of `{function_name}` are {}",
            arguments[0],
            listed.join(", ")
        )
    };
    Err(error(
        key.span(),
        format!(
            "`key = {written}` names no argument of `{function_name}`: one breaker per key needs a key that changes with the call"
        ),
        help,
    ))
}

fn names_any(tokens: TokenStream, arguments: &[String]) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => arguments.iter().any(|a| ident == a),
        TokenTree::Group(group) => names_any(group.stream(), arguments),
        _ => false,
    })
}

/// The breaker of `(key).to_breaker_key()` in `slot`, the key's bounds
/// checked at the key expression.
fn keyed_breaker(slot: &syn::Ident, key: &Expr, private: &TokenStream) -> TokenStream {
    let span = key.span();
    let private_at_key = super::respan(private.clone(), span);
    let owned = quote_spanned!(span=> {
        #[allow(unused_imports)]
        use #private_at_key::ToBreakerKey as _;
        (#key).to_breaker_key()
    });
    quote_spanned!(span=> #private_at_key::keyed_breaker(&#slot, #owned))
}

fn wrap(args: &BreakerArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let Some(name) = &args.name else {
        return inner; // `validate` has reported the missing key.
    };
    let private = &context.private;
    let config = config(args, private);
    let permit = Context::local("__resilience_permit");
    let open = Context::local("__resilience_open");
    let value = Context::local("__resilience_value");
    let failure = Context::local("__resilience_error");
    let injected = Context::local("__resilience_injected");
    let chaos = chaos_point(context, name, &injected);
    let counts_as_failure = predicate(context, args.when.as_ref(), &failure);
    // At the return type: an error type without `From<CircuitOpen>` is
    // reported there, with the impl to write.
    let output_span = context.function.output.span();
    let private_at_output = super::respan(private.clone(), output_span);
    let rejected = quote_spanned!(output_span=> #private_at_output::circuit_open(#open));
    // Without `key`, the closed path is the slot's one atomic load; with it,
    // a look-up of the key's breaker in the name's bounded map.
    let (slot, acquire) = match &args.key {
        None => (
            quote!(static __RESILIENCE_BREAKER: #private::BreakerSlot = #private::BreakerSlot::new(#name, #config);),
            // Shared, async: the fleet's probe lease is awaited, never
            // taken blocking the runtime's worker (`Breaker::acquire`).
            if context.function.is_async() && args.shared.is_some_and(|s| s.value) {
                quote!(__RESILIENCE_BREAKER.breaker().acquire().await)
            } else {
                quote!(__RESILIENCE_BREAKER.breaker().try_acquire())
            },
        ),
        Some(key) => {
            let max_keys = args.max_keys.map_or_else(
                || quote!(#private::DEFAULT_MAX_KEYS),
                |max| {
                    let max = u64::from(max.value);
                    quote!(#max)
                },
            );
            let breaker = Context::local("__resilience_breaker");
            let slot = syn::Ident::new("__RESILIENCE_BREAKER", proc_macro2::Span::call_site());
            let lookup = keyed_breaker(&slot, key, private);
            (
                quote! {
                    static #slot: #private::KeyedBreakerSlot =
                        #private::KeyedBreakerSlot::new(#name, #config, #max_keys);
                    let #breaker = #lookup;
                },
                quote!(#breaker.try_acquire()),
            )
        }
    };
    quote! {
        {
            #slot
            match #acquire {
                ::core::result::Result::Err(#open) => #rejected,
                ::core::result::Result::Ok(#permit) => {
                    #chaos
                    match match #injected {
                        ::core::option::Option::Some(#injected) => ::core::result::Result::Err(#injected),
                        ::core::option::Option::None => #inner,
                    } {
                        ::core::result::Result::Ok(#value) => {
                            #permit.record(false);
                            ::core::result::Result::Ok(#value)
                        }
                        ::core::result::Result::Err(#failure) => {
                            #permit.record(#counts_as_failure);
                            ::core::result::Result::Err(#failure)
                        }
                    }
                }
            }
        }
    }
}

/// `let injected`: the error a chaos injection at the breaker `name`
/// fails this call with (runtime feature `chaos`), after its wait and
/// hang; without the feature, a constant `None`. The breaker then counts
/// it as it counts the body's errors.
fn chaos_point(context: &Context, name: &syn::LitStr, injected: &syn::Ident) -> TokenStream {
    let private = &context.private;
    let strike = Context::local("__resilience_chaos");
    let armed = Context::local(super::CHAOS_ARMED);
    let land = if context.function.is_async() {
        quote!(#strike.land().await)
    } else {
        quote!(#strike.land_blocking())
    };
    quote! {
        let mut #injected = ::core::option::Option::None;
        if let ::core::option::Option::Some(#strike) = #private::chaos::breaker_point(#armed, #name) {
            #injected = #land.error();
        }
    }
}

/// The `BreakerConfig` expression: defaults from the runtime, then each key given.
fn config(args: &BreakerArgs, private: &TokenStream) -> TokenStream {
    let mut config = quote!(#private::BreakerConfig::new());
    let duration = |d| duration_tokens(private, d);
    if let Some(rate) = args.failure_rate {
        let rate = rate.value;
        config.extend(quote!(.failure_rate(#rate)));
    }
    if let Some(window) = args.window {
        let window = duration(window.value);
        config.extend(quote!(.window(#window)));
    }
    if let Some(throttle) = args.throttle {
        let throttle = throttle.value;
        config.extend(quote!(.throttle(#throttle)));
    }
    if let Some(consecutive) = args.consecutive {
        let consecutive = consecutive.value;
        config.extend(quote!(.consecutive(#consecutive)));
    }
    if let Some(min_calls) = args.min_calls {
        let min_calls = min_calls.value;
        config.extend(quote!(.min_calls(#min_calls)));
    }
    if let Some(open_for) = args.open_for {
        let open_for = duration(open_for.value);
        config.extend(quote!(.open_for(#open_for)));
    }
    if let Some(half_open_calls) = args.half_open_calls {
        let half_open_calls = half_open_calls.value;
        config.extend(quote!(.half_open_calls(#half_open_calls)));
    }
    if let Some(probe_timeout) = args.probe_timeout {
        let probe_timeout = duration(probe_timeout.value);
        config.extend(quote!(.probe_timeout(#probe_timeout)));
    }
    if let Some(shared) = args.shared.filter(|s| s.value) {
        // Through a check that names the `redis` feature when it is off.
        let private = super::respan(private.clone(), shared.span);
        config = quote_spanned!(shared.span=> #private::shared_breaker::<#private::Fleet>(#config));
        if let Some(quorum) = args.quorum {
            let quorum = quorum.value;
            config = quote!(#private::breaker_quorum(#config, #quorum));
        }
    }
    config
}
