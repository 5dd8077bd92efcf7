//! Typed arguments of the attributes, parsed with the span of every value so
//! that an error (or a check across two keys) points at the right token.

pub(crate) mod breaker;
pub(crate) mod fallback;
pub(crate) mod retry;
pub(crate) mod stale_cache;
pub(crate) mod timeout;
mod values;

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Path};

pub(crate) use values::{choice, duration, float_at_least, path, positive_u32};

/// A value as written, and where.
#[derive(Clone, Copy)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// An error with the line that says what to do about it.
pub(crate) fn error(
    span: Span,
    message: impl std::fmt::Display,
    help: impl std::fmt::Display,
) -> syn::Error {
    syn::Error::new(span, format!("{message}\n= help: {help}"))
}

/// Several errors, reported together rather than one compile at a time.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// The keys of one attribute.
pub(crate) trait Keys: Default {
    /// The attribute's name, for messages.
    const ATTRIBUTE: &'static str;
    /// Every key it takes (besides `crate`), for "expected one of".
    const KEYS: &'static [&'static str];
    /// A typical argument list, for messages.
    const EXAMPLE: &'static str;

    /// Stores `key = value` (a key seen for the first time); `Ok(false)`
    /// when `key` is not one of this attribute's.
    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool>;

    /// Checks that span several keys, or a required key, once all are read.
    fn validate(&self, _errors: &mut Errors) {}
}

/// Arguments of one attribute, and the `crate = path` every attribute takes.
pub(crate) struct Parsed<K> {
    pub(crate) keys: K,
    pub(crate) krate: Option<Path>,
}

/// Parses `key = value, ...`, collecting every error.
pub(crate) fn parse<K: Keys>(tokens: TokenStream) -> syn::Result<Parsed<K>> {
    let mut keys = K::default();
    let mut krate = None;
    let mut seen: Vec<String> = Vec::new();
    let mut errors = Errors::default();
    let parser = syn::meta::parser(|meta| {
        let Some(key) = meta.path.get_ident() else {
            return Err(error(
                span_of(&meta.path),
                format!("expected a key of `#[{}]`, found a path", K::ATTRIBUTE),
                expected_keys::<K>(),
            ));
        };
        let name = key.to_string();
        if !meta.input.peek(syn::Token![=]) {
            return Err(error(
                key.span(),
                format!("`{name}` needs a value, written `{name} = ...`"),
                format!(
                    "write keys as `key = value`, for example `#[{}({})]`",
                    K::ATTRIBUTE,
                    K::EXAMPLE
                ),
            ));
        }
        let value: Expr = meta.value()?.parse()?;
        if seen.contains(&name) {
            errors.push(error(
                key.span(),
                format!("duplicate key `{name}` in `#[{}]`", K::ATTRIBUTE),
                format!("give `{name}` once; remove this one or the other"),
            ));
        } else if name == "crate" {
            match values::path(&value, "crate", "crate = my_resilience") {
                Ok(path) => krate = Some(path),
                Err(e) => errors.push(e),
            }
        } else {
            match keys.assign(&name, &value) {
                Ok(true) => {}
                Err(e) => errors.push(e),
                Ok(false) => errors.push(error(
                    key.span(),
                    format!("unknown key `{name}` in `#[{}]`", K::ATTRIBUTE),
                    expected_keys::<K>(),
                )),
            }
        }
        seen.push(name);
        Ok(())
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, tokens) {
        errors.push(e);
    }
    keys.validate(&mut errors);
    errors.finish()?;
    Ok(Parsed { keys, krate })
}

fn expected_keys<K: Keys>() -> String {
    let keys: Vec<String> = K::KEYS
        .iter()
        .chain(["crate"].iter())
        .map(|k| format!("`{k}`"))
        .collect();
    format!("`#[{}]` takes: {}", K::ATTRIBUTE, keys.join(", "))
}

fn span_of(tokens: &impl quote::ToTokens) -> Span {
    syn::spanned::Spanned::span(tokens)
}
