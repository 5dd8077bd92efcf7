//! What the cache tells the world: an outcome per request (counted in
//! `meters.rs`), and one event per load that refreshed, fell back on a
//! stale value, or failed outright, emitted by the caller that ran it (only
//! it holds the error).

use std::fmt;

/// How one request was answered: the `outcome` label of
/// `stale_cache_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// A fresh cached value, no call.
    Fresh = 0,
    /// An expired value replaced by a successful load.
    Refreshed = 1,
    /// A stale value: its refresh failed, or runs in the background.
    Stale = 2,
    /// Nothing servable was cached; a load succeeded.
    Miss = 3,
    /// The load failed and nothing servable was cached.
    Error = 4,
}

impl Outcome {
    /// Every outcome, in discriminant order.
    pub(super) const ALL: [Self; 5] = [
        Self::Fresh,
        Self::Refreshed,
        Self::Stale,
        Self::Miss,
        Self::Error,
    ];

    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Refreshed => "refreshed",
            Self::Stale => "stale",
            Self::Miss => "miss",
            Self::Error => "error",
        }
    }
}

/// An expired value was replaced (info).
pub(super) fn refreshed(function: &'static str, previous_age_ms: u64) {
    tracing::info!(
        target: "resilience", function, age_ms = previous_age_ms,
        outcome = Outcome::Refreshed.as_str(), "cache refreshed"
    );
}

/// A refresh failed and a stale value is served (warn).
pub(super) fn stale_served(function: &'static str, error: &dyn fmt::Display, age_ms: u64) {
    tracing::warn!(
        target: "resilience", function, error = %error, age_ms,
        outcome = Outcome::Stale.as_str(), "refresh failed, serving a stale value within tolerance"
    );
}

/// A background refresh failed; the stale value stays in place (warn).
pub(super) fn background_failed(function: &'static str, error: &dyn fmt::Display, age_ms: u64) {
    tracing::warn!(
        target: "resilience", function, error = %error, age_ms,
        outcome = Outcome::Stale.as_str(), "background refresh failed, the stale value stays"
    );
}

/// A load failed with nothing servable cached (error). `too_old_ms` is the
/// age of a cached value older than the tolerance, if there was one.
pub(super) fn failed(function: &'static str, error: &dyn fmt::Display, too_old_ms: Option<u64>) {
    tracing::error!(
        target: "resilience", function, error = %error, age_ms = too_old_ms,
        outcome = Outcome::Error.as_str(), "load failed and no value within tolerance to serve"
    );
}

/// A loaded value weighs more than the cache's `max_bytes`: it is served,
/// not kept (warn, once per cache).
pub(super) fn too_big(function: &'static str, bytes: u64, max_bytes: u64) {
    tracing::warn!(
        target: "resilience", function, bytes, max_bytes,
        "a value heavier than max_bytes is served but not kept"
    );
}

#[cfg(test)]
pub(super) mod tests {
    //! Outcomes recorded per thread while a test asks for them.

    use std::cell::RefCell;

    use super::Outcome;

    thread_local! {
        static OUTCOMES: RefCell<Option<Vec<Outcome>>> = const { RefCell::new(None) };
    }

    pub(in crate::stale_cache) fn record(outcome: Outcome) {
        OUTCOMES.with_borrow_mut(|outcomes| {
            if let Some(outcomes) = outcomes {
                outcomes.push(outcome);
            }
        });
    }

    /// Starts recording this thread's outcomes.
    pub(in crate::stale_cache) fn start() {
        OUTCOMES.set(Some(Vec::new()));
    }

    /// The outcomes recorded since the last call (or [`start`]).
    pub(in crate::stale_cache) fn take() -> Vec<Outcome> {
        OUTCOMES
            .with_borrow_mut(|outcomes| outcomes.as_mut().map(std::mem::take).unwrap_or_default())
    }
}
