//! Typed arguments of the attributes, parsed with the span of every value so
//! that an error (or a check across two keys) points at the right token.

pub(crate) mod breaker;
pub(crate) mod bulkhead;
pub(crate) mod fallback;
pub(crate) mod retry;
pub(crate) mod stale_cache;
pub(crate) mod timeout;
mod values;

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Path};

pub(crate) use values::{
    boolean, choice, duration, float_at_least, label, name, path, positive_u32, positive_u64,
};

/// A value as written, and where.
#[derive(Clone, Copy)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// An error with the line that says what to do about it.
///
/// A proc macro on stable Rust emits an error as `compile_error!`: one
/// message at one span, no `= help:` of its own below the snippet (that is
/// the nightly-only `proc_macro::Diagnostic`). So the help is the message's
/// second line, `help: ...`, right under the headline.
pub(crate) fn error(
    span: Span,
    message: impl std::fmt::Display,
    help: impl std::fmt::Display,
) -> syn::Error {
    syn::Error::new(span, format!("{message}\nhelp: {help}"))
}

/// Tokens as a person writes them: `impl Into<String>`, not the token
/// stream's `impl Into < String >`.
pub(crate) fn as_written(tokens: &TokenStream) -> String {
    let spaced = tokens.to_string();
    let mut text = String::with_capacity(spaced.len());
    let mut chars = spaced.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let glued = match c {
            ' ' => {
                matches!(next, Some('<' | '>' | ',' | ':' | ')'))
                    || (next == Some('(') && text.ends_with(char::is_alphanumeric))
                    || text.ends_with(['<', '(', '&', ':'])
            }
            _ => false,
        };
        if !glued {
            text.push(c);
        }
    }
    text
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
                    match closest_key::<K>(&name) {
                        Some(close) => format!("did you mean `{close}`? {}", expected_keys::<K>()),
                        None => expected_keys::<K>(),
                    },
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

/// The key `written` most likely misspells, if any is close enough (the
/// measure and threshold of clap's "did you mean").
fn closest_key<K: Keys>(written: &str) -> Option<&'static str> {
    K::KEYS
        .iter()
        .chain(["crate"].iter())
        .map(|key| (strsim::jaro(written, key), *key))
        .filter(|(similarity, _)| *similarity > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, key)| key)
}

fn span_of(tokens: &impl quote::ToTokens) -> Span {
    syn::spanned::Spanned::span(tokens)
}

#[cfg(test)]
mod tests {
    use super::retry::RetryArgs;
    use super::{as_written, closest_key};

    #[test]
    fn types_read_as_written() {
        let written = |text: &str| as_written(&text.parse().unwrap());
        assert_eq!(written("impl Into<String>"), "impl Into<String>");
        assert_eq!(
            written("impl Fn(&str) -> Option<String>"),
            "impl Fn(&str) -> Option<String>"
        );
        assert_eq!(
            written("impl Iterator<Item = (u32, &'a str)> + Send"),
            "impl Iterator<Item = (u32, &'a str)> + Send"
        );
        assert_eq!(
            written("Result<u32, std::io::Error>"),
            "Result<u32, std::io::Error>"
        );
    }

    #[test]
    fn a_misspelt_key_names_the_closest_one() {
        assert_eq!(closest_key::<RetryArgs>("backof"), Some("backoff"));
        assert_eq!(closest_key::<RetryArgs>("maxx"), Some("max"));
        assert_eq!(closest_key::<RetryArgs>("jiter"), Some("jitter"));
        assert_eq!(closest_key::<RetryArgs>("max_delays"), Some("max_delay"));
        assert_eq!(closest_key::<RetryArgs>("tolerance"), None);
    }
}
