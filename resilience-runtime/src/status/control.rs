//! The control routes' rules: who may use them (the admin token, compared
//! in constant time) and what each action does to which breakers.

use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

use crate::breaker::{self, Breaker};

/// What `POST <prefix>/breakers/{name}/{action}` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// `Breaker::force_open`: open for `open_for` from now.
    Open,
    /// `Breaker::reset`: closed, with an empty window.
    Close,
    /// As `Close`; on a keyed name without a key, every key of it.
    Reset,
}

impl Action {
    pub(super) fn parse(word: &str) -> Option<Self> {
        match word {
            "open" => Some(Self::Open),
            "close" => Some(Self::Close),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }

    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Close => "close",
            Self::Reset => "reset",
        }
    }
}

/// Why an action changed nothing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No breaker of that name (and key).
    Unknown,
    /// The name has only keyed breakers: say which key (`reset` may omit it).
    NeedsKey,
}

/// Whether `headers` carry `Authorization: Bearer <token>`. The token is
/// compared in constant time, so its bytes cannot be guessed one by one
/// from response times (only its length could be).
pub(super) fn authorised(headers: &HeaderMap, token: &[u8]) -> bool {
    let Some(given) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.as_bytes().strip_prefix(b"Bearer "))
    else {
        return false;
    };
    bool::from(given.ct_eq(token))
}

/// The breakers `name` (and `key`, as `Debug` prints it) names, after
/// `action` was applied to each.
pub(super) fn apply(
    name: &str,
    key: Option<&str>,
    action: Action,
) -> Result<Vec<Arc<Breaker>>, Refusal> {
    let registry = breaker::registry();
    let targets: Vec<Arc<Breaker>> = match key {
        Some(key) => registry
            .keyed_breakers(name)
            .into_iter()
            .filter(|breaker| breaker.key() == Some(key))
            .collect(),
        None => match registry.get(name) {
            Some(breaker) => vec![breaker],
            None => {
                let keyed = registry.keyed_breakers(name);
                if keyed.is_empty() {
                    return Err(Refusal::Unknown);
                }
                if action != Action::Reset {
                    return Err(Refusal::NeedsKey);
                }
                keyed
            }
        },
    };
    if targets.is_empty() {
        return Err(Refusal::Unknown);
    }
    for breaker in &targets {
        match action {
            Action::Open => breaker.force_open(),
            Action::Close | Action::Reset => breaker.reset(),
        }
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::breaker::{BreakerConfig, DEFAULT_MAX_KEYS, State};

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_is_authorised() {
        assert!(authorised(&bearer("Bearer s3cret"), b"s3cret"));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "bearer s3cret",
            "s3cret",
            "Basic s3cret",
        ] {
            assert!(!authorised(&bearer(wrong), b"s3cret"), "{wrong}");
        }
        assert!(!authorised(&HeaderMap::new(), b"s3cret"));
    }

    #[test]
    fn a_keyed_name_needs_its_key_except_to_reset_every_key() {
        let hosts = breaker::registry().get_or_register_keyed::<String>(
            "control-keyed",
            BreakerConfig::new(),
            DEFAULT_MAX_KEYS,
        );
        hosts.breaker("a".to_owned());
        hosts.breaker("b".to_owned());
        assert_eq!(
            apply("control-keyed", None, Action::Open).unwrap_err(),
            Refusal::NeedsKey
        );
        let opened = apply("control-keyed", Some("\"a\""), Action::Open).unwrap();
        assert_eq!(opened.len(), 1);
        assert_eq!(hosts.breaker("a".to_owned()).state(), State::Open);
        assert_eq!(hosts.breaker("b".to_owned()).state(), State::Closed);
        apply("control-keyed", Some("\"b\""), Action::Open).unwrap();
        assert_eq!(
            apply("control-keyed", None, Action::Reset).unwrap().len(),
            2
        );
        assert_eq!(hosts.breaker("a".to_owned()).state(), State::Closed);
        assert_eq!(hosts.breaker("b".to_owned()).state(), State::Closed);
        assert_eq!(
            apply("control-keyed", Some("\"c\""), Action::Open).unwrap_err(),
            Refusal::Unknown
        );
        assert_eq!(
            apply("no-such-breaker", None, Action::Close).unwrap_err(),
            Refusal::Unknown
        );
    }
}
