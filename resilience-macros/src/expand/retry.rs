//! `#[retry]`: the attempt loop. The runtime's `Attempts` decides whether to
//! go on and how long to wait; the loop lives here, in the function, because
//! each attempt must reborrow the arguments.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{Context, describe_error, duration_tokens, predicate};
use crate::args::error;
use crate::args::retry::{Backoff, Jitter, RetryArgs};
use crate::attribute::Attribute;
use crate::item::{Function, Receiver};

impl Attribute for RetryArgs {
    fn check(&self, function: &Function) -> syn::Result<()> {
        check(function)
    }
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
    fn needs_arguments_again(&self) -> bool {
        true
    }
    fn retry_loop(&self) -> bool {
        true
    }
}

fn check(function: &Function) -> syn::Result<()> {
    if let Some(Receiver::Owned(span)) = function.receiver {
        return Err(error(
            span,
            "`#[retry]` runs the body once per attempt, so it cannot take `self` by value",
            "take `&self` or `&mut self`, or move the retried call into a method that does",
        ));
    }
    Ok(())
}

/// The loop's state, which the innermost attempt also reads (the attempt
/// `attempt::current()` reports).
pub(crate) fn attempts_local() -> syn::Ident {
    Context::local("__resilience_attempts")
}

fn wrap(args: &RetryArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let private = &context.private;
    let function = context.function_name();
    let policy = policy(args, private);
    let attempts = attempts_local();
    let value = Context::local("__resilience_value");
    let failure = Context::local("__resilience_error");
    let delay = Context::local("__resilience_delay");
    let retryable = predicate(args.when.as_ref(), &failure);
    let description = describe_error(private, &failure);
    let sleep = if context.function.is_async() {
        quote!(#private::sleep(#delay).await)
    } else {
        quote!(#private::sleep_blocking(#delay))
    };
    let output = &context.function.output_in_body;
    // Each path is first given its expected `fn` type, at the path: one of
    // another signature is reported there, naming the one expected.
    let (server_delay, delay_from) = match &args.delay_from {
        Some(path) => {
            let local = Context::local("__resilience_delay_from");
            let span = path.span();
            let declare = quote_spanned! {span=>
                let #local: fn(&<#output as #private::ResultLike>::Err) -> ::core::option::Option<#private::Duration> = #path;
            };
            // Only an error that is retried has a wait to read.
            let read = quote! {
                if retryable { #local(&#failure) } else { ::core::option::Option::None }
            };
            (read, declare)
        }
        None => (quote!(::core::option::Option::None), TokenStream::new()),
    };
    let (on_ok, when_ok) = match &args.when_ok {
        Some(path) => {
            let local = Context::local("__resilience_when_ok");
            let span = path.span();
            let declare = quote_spanned! {span=>
                let #local: fn(&<#output as #private::ResultLike>::Ok) -> bool = #path;
            };
            let on_ok = quote! {
                ::core::result::Result::Ok(#value) => {
                    if #local(&#value) {
                        match #attempts.value_rejected() {
                            ::core::option::Option::Some(#delay) => #delay,
                            ::core::option::Option::None => break ::core::result::Result::Ok(#value),
                        }
                    } else {
                        #attempts.succeeded();
                        break ::core::result::Result::Ok(#value);
                    }
                }
            };
            (on_ok, declare)
        }
        None => (
            quote! {
                ::core::result::Result::Ok(#value) => {
                    #attempts.succeeded();
                    break ::core::result::Result::Ok(#value);
                }
            },
            TokenStream::new(),
        ),
    };
    quote! {
        {
            static __RESILIENCE_RETRY_POLICY: #private::RetryPolicy = #policy;
            #delay_from
            #when_ok
            let mut #attempts = #private::Attempts::start(&__RESILIENCE_RETRY_POLICY, #function);
            loop {
                // The error is dropped before the wait: a future must not
                // hold it across the await (it may not be `Send`).
                let #delay = match #inner {
                    #on_ok
                    ::core::result::Result::Err(#failure) => {
                        let retryable: bool = #retryable;
                        let server_delay: ::core::option::Option<#private::Duration> = #server_delay;
                        match #attempts.failed(&#description, retryable, server_delay) {
                            ::core::option::Option::Some(#delay) => #delay,
                            ::core::option::Option::None => break ::core::result::Result::Err(#failure),
                        }
                    }
                };
                #sleep;
            }
        }
    }
}

/// The `RetryPolicy` expression: defaults from the runtime, then each key given.
fn policy(args: &RetryArgs, private: &TokenStream) -> TokenStream {
    let mut policy = quote!(#private::RetryPolicy::new());
    let duration = |d| duration_tokens(private, d);
    if let Some(max) = args.max {
        let max = max.value;
        policy.extend(quote!(.max_attempts(#max)));
    }
    if let Some(backoff) = args.backoff {
        let variant = match backoff.value {
            Backoff::Exponential => quote!(Exponential),
            Backoff::Fixed => quote!(Fixed),
            Backoff::None => quote!(None),
        };
        policy.extend(quote!(.backoff(#private::Backoff::#variant)));
    }
    if let Some(delay) = args.delay {
        let delay = duration(delay.value);
        policy.extend(quote!(.delay(#delay)));
    }
    if let Some(factor) = args.factor {
        let factor = factor.value;
        policy.extend(quote!(.factor(#factor)));
    }
    if let Some(max_delay) = args.max_delay {
        let max_delay = duration(max_delay.value);
        policy.extend(quote!(.max_delay(#max_delay)));
    }
    if let Some(jitter) = args.jitter {
        let variant = match jitter.value {
            Jitter::Full => quote!(Full),
            Jitter::Equal => quote!(Equal),
            Jitter::None => quote!(None),
        };
        policy.extend(quote!(.jitter(#private::Jitter::#variant)));
    }
    if let Some(max_elapsed) = args.max_elapsed {
        let max_elapsed = duration(max_elapsed.value);
        policy.extend(quote!(.max_elapsed(#max_elapsed)));
    }
    policy
}
