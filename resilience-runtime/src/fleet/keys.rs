//! The Redis key schema: every key the fleet tier reads or writes.
//!
//! ```text
//! resilience:{namespace}:cache:{function}:{type}:{key}   a cached value (TTL = tolerance)
//! resilience:{namespace}:lease:{function}:{type}:{key}   one refresh at a time (TTL = refresh lease)
//! resilience:{namespace}:breaker-open:{name}             "open until T" (TTL = open_for)
//! resilience:{namespace}:breaker-probe:{name}            one half-open probe at a time
//! resilience:{namespace}:breaker-votes:{name}            the instances that opened it (a sorted set, TTL = open_for)
//! resilience:{namespace}:breakers                        the pub/sub channel of breaker news
//! ```
//!
//! - `{namespace}` is checked when the fleet is connected (letters, digits,
//!   `_ . -`), so it never contains the `:` that ends it.
//! - `{function}` and `{name}` are kept as written when they are made of
//!   `[A-Za-z0-9_:./-]` and at most [`READABLE`] bytes long; anything else is
//!   replaced by `#` and a digest (never readable, so never confused).
//! - `{function}` is the identity of a shared cache: the `name` given on
//!   `#[stale_cache(shared = true, name = "...")]`, else the function's
//!   path with its `Self` type, trait and instantiation
//!   (`app::Users::get`, `<app::Users as app::Repo>::get`,
//!   `app::Client<app::Prod>::fetch`), so no two functions meet by
//!   accident; a hand-built cache's is the `function` its calls pass.
//! - `{type}` is a fingerprint of the value type; `{key}` a 128-bit SHA-256
//!   digest of the encoded key: fixed length, so no argument can reach into
//!   another function's, type's or namespace's keys, or grow a key.

use super::codec;

/// The longest function path or breaker name kept readable in a key.
pub(crate) const READABLE: usize = 120;

/// Builds the keys of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    /// `resilience:{namespace}:`
    prefix: String,
}

impl Keys {
    pub(crate) fn new(namespace: &str) -> Self {
        Self {
            prefix: format!("resilience:{namespace}:"),
        }
    }

    /// Where a cached value lives.
    pub(crate) fn cache_entry(&self, function: &str, fingerprint: &str, digest: &str) -> String {
        format!(
            "{}cache:{}:{fingerprint}:{digest}",
            self.prefix,
            readable(function)
        )
    }

    /// The lease of a cached value's refresh.
    pub(crate) fn cache_lease(&self, function: &str, fingerprint: &str, digest: &str) -> String {
        format!(
            "{}lease:{}:{fingerprint}:{digest}",
            self.prefix,
            readable(function)
        )
    }

    /// "Open until T" of a breaker.
    pub(crate) fn breaker_open(&self, name: &str) -> String {
        format!("{}breaker-open:{}", self.prefix, readable(name))
    }

    /// The half-open probe lease of a breaker.
    pub(crate) fn breaker_probe(&self, name: &str) -> String {
        format!("{}breaker-probe:{}", self.prefix, readable(name))
    }

    /// The instances that opened a breaker, scored by when (a sorted set):
    /// the votes of its quorum.
    pub(crate) fn breaker_votes(&self, name: &str) -> String {
        format!("{}breaker-votes:{}", self.prefix, readable(name))
    }

    /// The channel breaker transitions are published on.
    pub(crate) fn breaker_channel(&self) -> String {
        format!("{}breakers", self.prefix)
    }
}

/// `text` itself when it is short and plain, else `#` and its digest.
fn readable(text: &str) -> std::borrow::Cow<'_, str> {
    let plain = text.len() <= READABLE
        && !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'/' | b'-'));
    if plain {
        text.into()
    } else {
        format!("#{}", codec::digest_hex(text.as_bytes())).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_carry_the_function_and_type() {
        let keys = Keys::new("profile-service");
        assert_eq!(
            keys.cache_entry("app::fetch_user_profile", "0123456789abcdef", "ff"),
            "resilience:profile-service:cache:app::fetch_user_profile:0123456789abcdef:ff"
        );
        assert_eq!(
            keys.breaker_open("payments"),
            "resilience:profile-service:breaker-open:payments"
        );
        assert_eq!(
            keys.breaker_votes("payments"),
            "resilience:profile-service:breaker-votes:payments"
        );
        assert_eq!(
            keys.breaker_channel(),
            "resilience:profile-service:breakers"
        );
    }

    #[test]
    fn odd_or_long_names_are_replaced_by_a_digest() {
        let keys = Keys::new("ns");
        let spaced = keys.breaker_open("pay ments");
        assert!(
            spaced.starts_with("resilience:ns:breaker-open:#"),
            "{spaced}"
        );
        let long = "x".repeat(10_000);
        assert!(keys.breaker_open(&long).len() < 100);
        // A name cannot pose as a digest: `#` is never kept.
        assert_ne!(keys.breaker_open("#abc"), "resilience:ns:breaker-open:#abc");
    }
}
