//! `#[bulkhead]`: take a slot of the named bulkhead, run what is inside,
//! give the slot back. With every slot taken (and none given back within
//! `max_wait`) the inside is not run and the caller gets
//! `E::from(BulkheadFull)`.
//!
//! The slot is a guard: a call that panics or whose future is dropped
//! gives it back too.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{Context, duration_tokens};
use crate::args::bulkhead::BulkheadArgs;
use crate::attribute::Attribute;

impl Attribute for BulkheadArgs {
    fn wrap(&self, context: &Context, inner: TokenStream) -> TokenStream {
        wrap(self, context, inner)
    }
}

fn wrap(args: &BulkheadArgs, context: &Context, inner: TokenStream) -> TokenStream {
    let Some(max_concurrent) = args.max_concurrent else {
        return inner; // `validate` has reported the missing key.
    };
    let private = &context.private;
    let max_concurrent = max_concurrent.value;
    let mut config = quote!(#private::BulkheadConfig::new(#max_concurrent));
    if let Some(max_wait) = args.max_wait {
        let max_wait = duration_tokens(private, max_wait.value);
        config.extend(quote!(.max_wait(#max_wait)));
    }
    let name = match &args.name {
        Some(name) => quote!(#name),
        None => context.function_name(),
    };
    let permit = Context::local("__resilience_bulkhead_permit");
    let full = Context::local("__resilience_full");
    let result = Context::local("__resilience_result");
    // At the return type: an error type without `From<BulkheadFull>` is
    // reported there, with the impl to write.
    let output_span = context.function.output.span();
    let private_at_output = super::respan(private.clone(), output_span);
    let rejected = quote_spanned!(output_span=> #private_at_output::bulkhead_full(#full));
    let acquire = if context.function.is_async() {
        quote!(__RESILIENCE_BULKHEAD.bulkhead().acquire().await)
    } else {
        quote!(__RESILIENCE_BULKHEAD.bulkhead().acquire_blocking())
    };
    quote! {
        {
            static __RESILIENCE_BULKHEAD: #private::BulkheadSlot =
                #private::BulkheadSlot::new(#name, #config);
            match #acquire {
                ::core::result::Result::Err(#full) => #rejected,
                ::core::result::Result::Ok(#permit) => {
                    let #result = #inner;
                    ::core::mem::drop(#permit);
                    #result
                }
            }
        }
    }
}
