//! The innermost layer: one run of the user's body.
//!
//! A fresh `async { body }.await` (or closure call, for a sync function), so
//! that `return` and `?` in the body end the attempt, not the function, and
//! `&mut self` is reborrowed per attempt. The arguments are bound inside it
//! by value (`let a = a;`): a non-`move` block would otherwise hold only a
//! reference to them, and the future would need `Sync` where the
//! undecorated one needed `Send`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::Context;
use crate::item::{Input, Passing, Receiver};

/// `fresh_arguments`: whether the attempt may run again, so that it must
/// take copies of the arguments rather than the arguments themselves.
/// `retried`: whether a retry loop encloses it, whose attempt the body can
/// read with `attempt::current()`.
pub(crate) fn expand(context: &Context, fresh_arguments: bool, retried: bool) -> TokenStream {
    let function = context.function;
    let private = &context.private;
    let mut prepare = Vec::new();
    let mut bind = Vec::new();
    for input in &function.inputs {
        let name = &input.name;
        let Some(pattern) = &input.pattern else {
            continue;
        };
        if fresh_arguments {
            match input.passing {
                Passing::Owned => prepare.push(clone_for_attempt(context, input)),
                Passing::Unique => prepare.push(quote!(let #name = &mut *#name;)),
                Passing::Shared => {}
            }
        }
        bind.push(quote!(let #pattern = #name;));
    }

    // The declared return type, stated inside the attempt so that `?` and
    // `Ok(..)` in the body infer exactly as they did in the function.
    let anchor = {
        let output = &function.output_in_body;
        quote!(#private::return_type!(#output);)
    };
    // A body that only reads through `&mut self` would capture `self` by
    // shared reference, and the future would need `Self: Sync` where the
    // undecorated one needed `Self: Send`: capture it uniquely.
    if function.is_async() && matches!(function.receiver, Some(Receiver::Unique)) {
        let receiver = function.receiver_token();
        bind.insert(0, quote!(let _ = &mut *#receiver;));
    }
    // The body's statements, not its block: a block of one expression as
    // the tail of another raises `unused_braces` at the user's braces.
    let body = &function.body.stmts;
    let chaos = chaos_point(context);
    let attempts = super::retry::attempts_local();
    let call = super::retry::call_local();
    let attempt = match (function.is_async(), retried) {
        (true, false) => quote!(async { #chaos #(#bind)* #anchor #(#body)* }.await),
        (true, true) => quote! {
            #private::in_attempt(#attempts.context(), async { #chaos #(#bind)* #anchor #(#body)* }).await
        },
        (false, false) => quote!(#private::attempt(|| { #chaos #(#bind)* #anchor #(#body)* })),
        (false, true) => quote! {
            #private::in_attempt_blocking(#call, || #private::attempt(|| { #chaos #(#bind)* #anchor #(#body)* }))
        },
    };

    // Named at the return type, so that "not a `Result`" points there.
    let output_span = function.output.span();
    let outcome = syn::Ident::new(
        "__resilience_outcome",
        output_span.resolved_at(proc_macro2::Span::mixed_site()),
    );
    quote! {
        {
            #(#prepare)*
            let #outcome = #attempt;
            #private::into_result(#outcome)
        }
    }
}

/// The chaos point where the body would run, once per attempt: with the
/// runtime's `chaos` feature an injected fault of this function (its
/// wait, its hang, its error, which ends the attempt as the body's own
/// would); without it, dead code behind a constant `None`.
fn chaos_point(context: &Context) -> TokenStream {
    let function = context.function;
    let private = &context.private;
    let name = context.function_name();
    let strike = Context::local("__resilience_chaos");
    let armed = Context::local(super::CHAOS_ARMED);
    let landed = Context::local("__resilience_landed");
    let injected = Context::local("__resilience_injected");
    let land = if context.function.is_async() {
        quote!(#strike.land().await)
    } else {
        quote!(#strike.land_blocking())
    };
    // At the return type, as `#[retry]`'s own `from_result`: a return type
    // that is not a `Result` is reported there once, not once more here.
    let output_span = function.output.span();
    let private_at_output = super::respan(private.clone(), output_span);
    let failed = quote_spanned! {output_span=>
        #private_at_output::from_result(::core::result::Result::Err(#injected))
    };
    quote! {
        if let ::core::option::Option::Some(#strike) = #private::chaos::point(#armed, #name) {
            let #landed = #land;
            if let ::core::option::Option::Some(#injected) = #landed.error() {
                return #failed;
            }
        }
    }
}

/// `let name = <Ty as CloneArgument>::clone_argument(&name);`, spanned at the
/// argument, so that a type that is not `Clone` is reported there, once.
fn clone_for_attempt(context: &Context, input: &Input) -> TokenStream {
    let private = &context.private;
    let name = &input.name;
    // `set_span`, not `Ident::new`: a raw identifier (`r#type`) stays raw.
    let mut argument = name.clone();
    argument.set_span(input.span.resolved_at(name.span()));
    match &input.ty {
        // `impl Trait` cannot be named; inference finds it.
        syn::Type::ImplTrait(_) => quote_spanned! {input.span=>
            let #name = #private::clone_argument(&#argument);
        },
        ty => quote_spanned! {input.span=>
            let #name = <#ty as #private::CloneArgument>::clone_argument(&#argument);
        },
    }
}
