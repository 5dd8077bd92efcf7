//! `#[retry]`: the attempt loop. The runtime's `Attempts` decides whether to
//! go on and how long to wait. A sync function runs its first attempt
//! itself and hands the rest of the loop to the runtime, out of line; an
//! async one keeps the whole loop, because each attempt's future borrows
//! the arguments.

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
    let value = Context::local("__resilience_value");
    let failure = Context::local("__resilience_error");
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
    let when_ok = args.when_ok.as_ref().map(|path| {
        let local = Context::local("__resilience_when_ok");
        let span = path.span();
        let declare = quote_spanned! {span=>
            let #local: fn(&<#output as #private::ResultLike>::Ok) -> bool = #path;
        };
        (local, declare)
    });
    let retryable = predicate(context, args.when.as_ref(), &failure);
    let description = describe_error(private, &failure);
    let attempts = attempts_local();
    let verdicts = Verdicts {
        failed: quote! {
            {
                let retryable: bool = #retryable;
                let server_delay: ::core::option::Option<#private::Duration> = #server_delay;
                #attempts.failed(&#description, retryable, server_delay)
            }
        },
        failure,
        value,
        when_ok: when_ok.as_ref().map(|(local, _)| local),
    };
    let body = if context.function.is_async() {
        async_loop(context, &verdicts, inner)
    } else {
        first_attempt_then_loop(context, &verdicts, inner)
    };
    let policy = policy(args, private);
    let when_ok = when_ok.map(|(_, declare)| declare);
    let budget = args.budget.as_ref().map(|name| {
        quote! {
            static __RESILIENCE_RETRY_BUDGET: #private::BudgetSlot = #private::BudgetSlot::named(#name);
        }
    });
    quote! {
        {
            #budget
            static __RESILIENCE_RETRY_POLICY: #private::RetryPolicy = #policy;
            #delay_from
            #when_ok
            #body
        }
    }
}

/// What the loop asks of an attempt's outcome, as expressions of the
/// generated code.
struct Verdicts<'a> {
    /// The error `failure` handed to the loop's state (`when`, `delay_from`
    /// and its description): the wait before the next attempt, or `None`.
    failed: TokenStream,
    /// The local holding the error.
    failure: syn::Ident,
    /// The local holding a returned value.
    value: syn::Ident,
    /// The local holding the `when_ok` predicate, if one was given.
    when_ok: Option<&'a syn::Ident>,
}

/// The local of a sync attempt's closure that holds the attempt
/// `attempt::current()` reports.
pub(crate) fn call_local() -> syn::Ident {
    Context::local("__resilience_call")
}

/// A sync function: unless the call must read its start time (a budget,
/// or a subscriber that may take `resilience` events), the first attempt,
/// and on success nothing more — no loop state, no clock — with the rest of
/// the loop one cold call; a timed call is one out-of-line call. The attempt
/// is an `FnMut` closure, called again for each retry: it copies the owned
/// arguments and reborrows the `&mut` ones on every call.
fn first_attempt_then_loop(
    context: &Context,
    verdicts: &Verdicts,
    inner: TokenStream,
) -> TokenStream {
    let private = &context.private;
    let function = context.function_name();
    let attempts = attempts_local();
    let call = call_local();
    let attempt = Context::local("__resilience_attempt");
    let first = Context::local("__resilience_first");
    let outcome = Context::local("__resilience_result");
    let delay = Context::local("__resilience_delay");
    let output = &context.function.output_in_body;
    let Verdicts {
        failed,
        failure,
        value,
        when_ok,
    } = verdicts;
    // Whether the first outcome is not the call's answer.
    let (unhealthy, rejects) = match when_ok {
        Some(when_ok) => (
            quote! {
                match &#outcome {
                    ::core::result::Result::Ok(#value) => #when_ok(#value),
                    ::core::result::Result::Err(_) => true,
                }
            },
            quote!(#when_ok),
        ),
        None => (
            quote!(::core::result::Result::is_err(&#outcome)),
            quote!(|_| false),
        ),
    };
    // Inside a loop of the same call, this loop goes on with the attempt
    // of that loop's closure: its `#call`, not yet shadowed here.
    let (within_timed, first_attempt) = if context.in_retry_loop {
        (
            quote!(::core::option::Option::Some(&*#call)),
            quote!(#private::FirstAttempt::untimed_within(&__RESILIENCE_RETRY_POLICY, &*#call)),
        )
    } else {
        (
            quote!(::core::option::Option::None),
            quote!(#private::FirstAttempt::untimed(&__RESILIENCE_RETRY_POLICY)),
        )
    };
    let rejects_local = Context::local("__resilience_rejects");
    let failed_local = Context::local("__resilience_failed");
    // The outcome is the function's value on every path, so that the first
    // attempt writes its result where the function returns it, not into a
    // local copied out afterwards. It is given back as the declared return
    // type: one that is not a `Result` is reported as that, not as a
    // mismatch.
    quote! {
        static __RESILIENCE_RETRY_SITE: #private::RetrySite =
            #private::RetrySite::new(&__RESILIENCE_RETRY_POLICY, #function);
        let mut #attempt = |#call: &mut #private::CallAttempt<'_>| #inner;
        // Typed once, from the attempt; each goes by value to whichever
        // path runs.
        let (#rejects_local, #failed_local) = #private::verdicts(
            &#attempt,
            #rejects,
            |#attempts: &mut #private::Attempts<'_>, #failure| match #failed {
                ::core::option::Option::Some(#delay) => ::core::result::Result::Ok(#delay),
                ::core::option::Option::None => ::core::result::Result::Err(#failure),
            },
        );
        let mut #outcome;
        if #private::FirstAttempt::timed(&__RESILIENCE_RETRY_POLICY) {
            #outcome = #private::retry_blocking_timed(
                &__RESILIENCE_RETRY_SITE,
                #within_timed,
                &mut #attempt,
                #rejects_local,
                #failed_local,
            );
        } else {
            let mut #first = #first_attempt;
            #outcome = #attempt(#first.context());
            if #unhealthy {
                #outcome = #private::retry_blocking(
                    &__RESILIENCE_RETRY_SITE,
                    #first,
                    #outcome,
                    &mut #attempt,
                    #rejects_local,
                    #failed_local,
                );
            }
        }
        #private::from_result::<#output>(#outcome)
    }
}

/// An async function: the loop, in the function (an attempt is a future
/// that borrows the arguments; a closure the runtime awaited would hold
/// those borrows across its waits, and the call's future would need `Sync`
/// arguments where the undecorated one needed `Send`).
fn async_loop(context: &Context, verdicts: &Verdicts, inner: TokenStream) -> TokenStream {
    let private = &context.private;
    let function = context.function_name();
    let attempts = attempts_local();
    let delay = Context::local("__resilience_delay");
    let Verdicts {
        failed,
        failure,
        value,
        when_ok,
    } = verdicts;
    let on_ok = match when_ok {
        Some(when_ok) => quote! {
            ::core::result::Result::Ok(#value) => {
                if #when_ok(&#value) {
                    match #attempts.value_rejected() {
                        ::core::option::Option::Some(#delay) => #delay,
                        ::core::option::Option::None => break ::core::result::Result::Ok(#value),
                    }
                } else {
                    #attempts.succeeded();
                    break ::core::result::Result::Ok(#value);
                }
            }
        },
        None => quote! {
            ::core::result::Result::Ok(#value) => {
                #attempts.succeeded();
                break ::core::result::Result::Ok(#value);
            }
        },
    };
    // Inside a loop of the same call, the enclosing loop's state, not yet
    // shadowed here.
    let start = if context.in_retry_loop {
        quote!(#private::Attempts::start_within(&__RESILIENCE_RETRY_POLICY, #function, &#attempts))
    } else {
        quote!(#private::Attempts::start(&__RESILIENCE_RETRY_POLICY, #function))
    };
    quote! {
        let mut #attempts = #start;
        loop {
            // The error is dropped before the wait: a future must not
            // hold it across the await (it may not be `Send`).
            let #delay = match #inner {
                #on_ok
                ::core::result::Result::Err(#failure) => match #failed {
                    ::core::option::Option::Some(#delay) => #delay,
                    ::core::option::Option::None => break ::core::result::Result::Err(#failure),
                },
            };
            #private::sleep(#delay).await;
        }
    }
}

/// The `RetryPolicy` expression: defaults from the runtime, then each key given.
fn policy(args: &RetryArgs, private: &TokenStream) -> TokenStream {
    let mut policy = quote!(#private::RetryPolicy::new());
    let duration = |d| duration_tokens(private, d);
    // A budget without `max` alone decides, as tenacity's `stop_after_delay`.
    let max = match (args.max, args.max_elapsed) {
        (Some(max), _) => Some(max.value),
        (None, Some(_)) => Some(u32::MAX),
        (None, None) => None,
    };
    if let Some(max) = max {
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
    if args.budget.is_some() {
        policy.extend(quote!(.budget(&__RESILIENCE_RETRY_BUDGET)));
    }
    policy
}
