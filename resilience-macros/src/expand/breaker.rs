//! `#[breaker]`: ask the named breaker for a permit, run what is inside,
//! and record the outcome. While the circuit is open the inside is not run
//! and the caller gets `E::from(CircuitOpen)`.
//!
//! The permit is a guard: if the call is cancelled (its future dropped) or
//! panics, dropping the permit gives a half-open probe slot back and counts
//! nothing.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{Context, duration_tokens, predicate};
use crate::args::breaker::BreakerArgs;

pub(crate) fn wrap(args: &BreakerArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let Some(name) = &args.name else {
        return inner; // `validate` has reported the missing key.
    };
    let private = &context.private;
    let config = config(args, private);
    let permit = Context::local("__resilience_permit");
    let open = Context::local("__resilience_open");
    let value = Context::local("__resilience_value");
    let failure = Context::local("__resilience_error");
    let counts_as_failure = predicate(args.when.as_ref(), &failure);
    // At the return type: an error type without `From<CircuitOpen>` is
    // reported there, with the impl to write.
    let output_span = context.function.output.span();
    let private_at_output = super::respan(private.clone(), output_span);
    let rejected = quote_spanned!(output_span=> #private_at_output::circuit_open(#open));
    quote! {
        {
            static __RESILIENCE_BREAKER: #private::BreakerSlot = #private::BreakerSlot::new(#name, #config);
            match __RESILIENCE_BREAKER.breaker().try_acquire() {
                ::core::result::Result::Err(#open) => #rejected,
                ::core::result::Result::Ok(#permit) => match #inner {
                    ::core::result::Result::Ok(#value) => {
                        #permit.record(false);
                        ::core::result::Result::Ok(#value)
                    }
                    ::core::result::Result::Err(#failure) => {
                        #permit.record(#counts_as_failure);
                        ::core::result::Result::Err(#failure)
                    }
                },
            }
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
    }
    config
}
