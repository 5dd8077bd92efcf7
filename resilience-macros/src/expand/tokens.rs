//! Token helpers every layer's expansion shares.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Path;

use super::Context;

/// `when(&error)`, or `true` without `when`. The error is located at the
/// path, so a predicate of the wrong type is reported at `when = ...`.
pub(crate) fn predicate(
    context: &Context,
    when: Option<&Path>,
    failure: &syn::Ident,
) -> TokenStream {
    match when {
        Some(when) => {
            let span = syn::spanned::Spanned::span(when);
            let mut failure = failure.clone();
            failure.set_span(span.resolved_at(failure.span()));
            // Checked at the path (see `WhenFn`): a predicate of another
            // signature is one error there, stating the one expected.
            let private = respan(context.private.clone(), span);
            let output = &context.function.output_in_body;
            quote::quote_spanned! {span=>
                ({
                    #[allow(unused_imports)]
                    use #private::ValidWhen as _;
                    #private::WhenFn::<<#output as #private::ResultLike>::Err, _>::new(#when)
                        .predicate()
                })(&#failure)
            }
        }
        None => quote!(true),
    }
}

/// A description of the error for events: its `Display`, else its
/// `Debug`, else its type name, so that `E` needs no trait.
pub(crate) fn describe_error(private: &TokenStream, failure: &syn::Ident) -> TokenStream {
    quote!(#private::describe_error!(&#failure))
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
