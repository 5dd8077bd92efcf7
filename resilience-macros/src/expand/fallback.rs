//! `#[fallback]`: on an error the predicate accepts, answer with the
//! fallback function, called with the same arguments and the error.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{Context, describe_error, predicate, respan};
use crate::args::error;
use crate::args::fallback::FallbackArgs;
use crate::attribute::Attribute;
use crate::item::{Function, Passing, Receiver, infer_impl_trait};

impl Attribute for FallbackArgs {
    fn check(&self, function: &Function) -> syn::Result<()> {
        check(self, function)
    }
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
    /// The fallback is called with the arguments after the call failed.
    fn needs_arguments_again(&self) -> bool {
        true
    }
}

/// A fallback named `Self::...` on a method receives the method's receiver.
fn takes_receiver(args: &FallbackArgs, function: &Function) -> bool {
    let named_on_self = args.function.as_ref().is_some_and(|path| {
        path.segments.len() > 1
            && path
                .segments
                .first()
                .is_some_and(|segment| segment.ident == "Self")
    });
    named_on_self && function.receiver.is_some()
}

fn check(args: &FallbackArgs, function: &Function) -> syn::Result<()> {
    if let (true, Some(Receiver::Owned(span))) = (takes_receiver(args, function), function.receiver)
    {
        return Err(error(
            span,
            "`#[fallback(fn = Self::..)]` would pass `self` to the fallback, but the call has already consumed it",
            "take `&self` or `&mut self`, or name a fallback that does not take the receiver",
        ));
    }
    Ok(())
}

fn wrap(args: &FallbackArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let Some(fallback) = &args.function else {
        return inner; // `validate` has reported the missing key.
    };
    let private = &context.private;
    let function = context.function;
    let value = Context::local("__resilience_value");
    let failure = Context::local("__resilience_error");

    // The arguments, and their types stated: with the expected signature
    // fixed, a fallback of another shape is reported as such, with it.
    let mut arguments = Vec::new();
    let mut types = Vec::new();
    if takes_receiver(args, function) {
        let receiver = function.receiver_token();
        let (argument, ty) = match function.receiver {
            Some(Receiver::Unique) => (quote!(&mut *#receiver), quote!(&mut Self)),
            _ => (quote!(#receiver), quote!(&Self)),
        };
        arguments.push(argument);
        types.push(ty);
    }
    for input in &function.inputs {
        let name = &input.name;
        arguments.push(match input.passing {
            // A copy: this layer may itself run more than once.
            Passing::Owned => quote_spanned!(input.span=> #private::clone_argument(&#name)),
            Passing::Shared => quote!(#name),
            Passing::Unique => quote!(&mut *#name),
        });
        let ty = infer_impl_trait(input.ty.clone());
        types.push(quote!(#ty));
    }
    let output = &function.output_in_body;
    arguments.push(quote!(#failure));
    types.push(quote!(<#output as #private::ResultLike>::Err));

    // Resolved among three methods (see `SyncFallbackFn` and
    // `AsyncFallbackFn`), so that a fallback of the wrong kind or shape is
    // one error at `fn = ...` that says which, with the expected signature.
    let call = if function.is_async() {
        let private = respan(private.clone(), fallback.span());
        quote_spanned! {fallback.span()=>
            {
                #[allow(unused_imports)]
                use #private::{CallAsync as _, CallSyncForAsync as _};
                #private::AsyncFallbackFn::<(#(#types,)*), #output, _>::new(#fallback)
                    .call_fallback((#(#arguments,)*))
                    .await
            }
        }
    } else {
        let private = respan(private.clone(), fallback.span());
        quote_spanned! {fallback.span()=>
            {
                #[allow(unused_imports)]
                use #private::{CallSync as _, CallAsyncForSync as _};
                #private::SyncFallbackFn::<(#(#types,)*), #output, _>::new(#fallback)
                    .call_fallback((#(#arguments,)*))
            }
        }
    };
    let accepted = predicate(context, args.when.as_ref(), &failure);
    let description = describe_error(private, &failure);
    let name = context.function_name();
    quote! {
        match #inner {
            ::core::result::Result::Ok(#value) => ::core::result::Result::Ok(#value),
            ::core::result::Result::Err(#failure) => {
                if #accepted {
                    #private::fallback_invoked(#name, &#description);
                    #call
                } else {
                    ::core::result::Result::Err(#failure)
                }
            }
        }
    }
}
