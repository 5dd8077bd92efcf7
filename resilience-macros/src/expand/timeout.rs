//! `#[timeout]`: run what is inside as a future under a deadline. At the
//! deadline the future is dropped (whatever it awaited is abandoned) and the
//! caller gets `E::from(TimedOut)`.
//!
//! Below `#[retry]`, what is inside is one attempt; above it, the whole
//! call with its retries and waits.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{Context, duration_tokens};
use crate::args::error;
use crate::args::timeout::TimeoutArgs;
use crate::attribute::Attribute;
use crate::item::{Function, Passing};

impl Attribute for TimeoutArgs {
    fn check(&self, function: &Function) -> syn::Result<()> {
        check(function)
    }
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
    fn borrows_arguments(&self) -> bool {
        true
    }
}

fn check(function: &Function) -> syn::Result<()> {
    if !function.is_async() {
        return Err(error(
            function.sig.fn_token.span(),
            "`#[timeout]` needs an `async fn`: a blocking call cannot be cut off, because a thread cannot be cancelled",
            "make the function `async` (and its blocking work `tokio::task::spawn_blocking`, which the deadline then stops waiting for), or give the blocking call its own timeout (a socket's `set_read_timeout`, a client's timeout setting)",
        ));
    }
    Ok(())
}

fn wrap(args: &TimeoutArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let Some(after) = args.after else {
        return inner; // `validate` has reported the missing key.
    };
    let private = &context.private;
    let after = duration_tokens(private, after.value);
    let function = context.function_name();
    let result = Context::local("__resilience_result");
    let timed_out = Context::local("__resilience_timed_out");
    // When what is inside copies the owned arguments for each attempt, the
    // block borrows them. A shared borrow held across the await would make
    // the future `Send` only for `Sync` arguments: borrow them uniquely (the
    // expansion rebinds them `mut` at the top of the body).
    let unique_borrows: Vec<_> = if context.fresh_arguments {
        owned_arguments(context.function)
            .map(|name| quote!(let _ = &mut #name;))
            .collect()
    } else {
        Vec::new()
    };
    // At the return type: an error type without `From<TimedOut>` is
    // reported there, with the impl to write.
    let output_span = context.function.output.span();
    let private_at_output = super::respan(private.clone(), output_span);
    let cut_off = quote_spanned!(output_span=> #private_at_output::timed_out(#timed_out));
    quote! {
        match #private::within(#function, #after, async { #(#unique_borrows)* #inner }).await {
            ::core::result::Result::Ok(#result) => #result,
            ::core::result::Result::Err(#timed_out) => #cut_off,
        }
    }
}

/// The owned arguments the body refers to: those a `#[timeout]` block may
/// borrow to copy them for each attempt.
pub(crate) fn owned_arguments(function: &Function) -> impl Iterator<Item = &syn::Ident> {
    function
        .inputs
        .iter()
        .filter(|input| input.passing == Passing::Owned && input.pattern.is_some())
        .map(|input| &input.name)
}
