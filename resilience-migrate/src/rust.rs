//! The Rust attributes the tool prints, with the keys the macros take today
//! in the order they document them.

use std::fmt;

/// One of the attributes, in the documented stacking order (outermost first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `#[fallback]`
    Fallback,
    /// `#[stale_cache]`
    StaleCache,
    /// `#[breaker]`
    Breaker,
    /// `#[retry]`
    Retry,
}

impl Kind {
    /// The attribute's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Fallback => "fallback",
            Kind::StaleCache => "stale_cache",
            Kind::Breaker => "breaker",
            Kind::Retry => "retry",
        }
    }

    /// The keys `resilience-macros` accepts, in its documented order
    /// (`resilience-macros/src/args/*.rs`). Nothing else is ever printed.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Kind::Fallback => &["fn", "when"],
            Kind::StaleCache => &[
                "maxage",
                "tolerance",
                "retries",
                "capacity",
                "refresh",
                "key",
            ],
            Kind::Breaker => &[
                "name",
                "consecutive",
                "failure_rate",
                "window",
                "min_calls",
                "open_for",
                "half_open_calls",
                "probe_timeout",
                "when",
            ],
            Kind::Retry => &[
                "max",
                "backoff",
                "delay",
                "factor",
                "max_delay",
                "jitter",
                "when",
                "max_elapsed",
                "delay_from",
                "when_ok",
            ],
        }
    }
}

/// An attribute and its keys, each with its value as Rust source.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// Which attribute.
    pub kind: Kind,
    keys: Vec<(&'static str, String)>,
}

impl Attribute {
    /// An attribute without keys.
    pub fn new(kind: Kind) -> Self {
        Attribute {
            kind,
            keys: Vec::new(),
        }
    }

    /// Sets `key = value` (replacing an earlier value). A key the macro does
    /// not take is a bug in the mapping, caught by the tests.
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        debug_assert!(
            self.kind.keys().contains(&key),
            "`{key}` is not a key of #[{}]",
            self.kind.name()
        );
        let value = value.into();
        match self.keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.keys.push((key, value)),
        }
    }

    /// Removes `key`, if set.
    pub fn remove(&mut self, key: &str) {
        self.keys.retain(|(k, _)| *k != key);
    }

    /// The value of `key`, as Rust source.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#[{}", self.kind.name())?;
        let mut keys: Vec<&(&str, String)> = self.keys.iter().collect();
        let order = self.kind.keys();
        keys.sort_by_key(|(key, _)| order.iter().position(|k| k == key));
        for (i, (key, value)) in keys.iter().enumerate() {
            let open = if i == 0 { "(" } else { ", " };
            write!(f, "{open}{key} = {value}")?;
        }
        if !keys.is_empty() {
            f.write_str(")")?;
        }
        f.write_str("]")
    }
}

/// Seconds as Rust writes them for a duration key: `3`, `0.5`.
pub fn seconds(value: f64) -> String {
    number(value)
}

/// A number as a Rust literal: `3` for whole numbers, else `0.25`.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// A Rust string literal.
pub fn string(value: &str) -> String {
    format!("{value:?}")
}

/// `HTTPError` → `http_error`; `is_transient` stays.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (previous.is_some_and(char::is_uppercase)
                    && next.is_some_and(|n| n.is_lowercase()));
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_print_in_the_documented_order() {
        let mut retry = Attribute::new(Kind::Retry);
        retry.set("when", "is_transient");
        retry.set("max", "3");
        retry.set("backoff", string("exp"));
        assert_eq!(
            retry.to_string(),
            "#[retry(max = 3, backoff = \"exp\", when = is_transient)]"
        );
        assert_eq!(Attribute::new(Kind::Breaker).to_string(), "#[breaker]");
    }

    #[test]
    fn numbers_print_as_rust_literals() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1e-3), "0.001");
    }

    #[test]
    fn class_names_become_snake_case() {
        assert_eq!(snake_case("HTTPError"), "http_error");
        assert_eq!(snake_case("ConnectionError"), "connection_error");
        assert_eq!(snake_case("is_transient"), "is_transient");
        assert_eq!(snake_case("IOError2"), "io_error2");
    }
}
