//! Stacking: the first resilience attribute to expand reads the ones below
//! it, and leaves each in place as `#[name(__resilience_expanded)]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{Attribute, ItemFn, Meta};

use crate::args::{Errors, error};
use crate::attribute::{self, ParseLayer};

/// Which resilience attribute `attr` is, by the last segment of its path:
/// `retry`, `resilience_runtime::retry`, and also `res::retry` under a
/// renamed dependency or `use resilience_runtime as res` — a stack written
/// with a renamed path must not go unseen, or its order would flip.
fn stack_kind(attr: &Attribute) -> Option<(&'static str, ParseLayer)> {
    let last = attr.path().segments.last()?;
    attribute::named(&last.ident.to_string())
}

pub(super) const EXPANDED: &str = "__resilience_expanded";

pub(super) fn is_expanded_marker(args: &TokenStream) -> bool {
    let mut tokens = args.clone().into_iter();
    matches!((tokens.next(), tokens.next()), (Some(proc_macro2::TokenTree::Ident(ident)), None) if ident == EXPANDED)
}

/// `#[name(__resilience_expanded)]`: the attribute, already expanded.
fn mark_expanded(attr: &mut Attribute) {
    let path = attr.path().clone();
    let marker = syn::Ident::new(EXPANDED, Span::call_site());
    attr.meta = Meta::List(syn::MetaList {
        path,
        delimiter: syn::MacroDelimiter::Paren(Default::default()),
        tokens: quote!(#marker),
    });
}

/// Reads the resilience attributes below this one, and marks them expanded.
pub(super) fn split_stack(
    attrs: &mut [Attribute],
    errors: &mut Errors,
) -> Vec<(ParseLayer, TokenStream)> {
    let mut stack = Vec::new();
    for attr in attrs {
        let Some((name, parse)) = stack_kind(attr) else {
            continue;
        };
        match &attr.meta {
            Meta::Path(_) => stack.push((parse, TokenStream::new())),
            Meta::List(list) if is_expanded_marker(&list.tokens) => continue,
            Meta::List(list) => stack.push((parse, list.tokens.clone())),
            Meta::NameValue(pair) => errors.push(error(
                syn::spanned::Spanned::span(pair),
                format!("`#[{name} = ...]` is not how the attribute takes its keys"),
                format!("write `#[{name}(key = value, ...)]`"),
            )),
        }
        mark_expanded(attr);
    }
    stack
}

/// The item as written, its resilience attributes marked expanded.
pub(super) fn without_stack(item: TokenStream) -> TokenStream {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(mut function) => {
            for attr in function
                .attrs
                .iter_mut()
                .filter(|attr| stack_kind(attr).is_some())
            {
                mark_expanded(attr);
            }
            function.into_token_stream()
        }
        Err(_) => item,
    }
}
