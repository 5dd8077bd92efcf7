//! Whether Redis answers, told once per outage: `fleet_errors_total`, one
//! warning when an outage begins, one info event when it ends.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crate::meters::CounterDef;

/// `fleet_errors_total{kind}`: Redis operations of the fleet tier that failed.
static FLEET_ERRORS_TOTAL: CounterDef = CounterDef::new(
    "fleet_errors_total",
    "Redis operations of the fleet tier that failed, by kind: timeout, error, malformed",
);

/// How a Redis operation failed, the `kind` label of `fleet_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No answer within the operation bound.
    Timeout,
    /// The connection or the server returned an error.
    Error,
    /// What one key held or one command got back was unusable: an entry
    /// oversized or that did not decode, a value of the wrong type, a
    /// command the server refused for that key. A miss for that key only.
    Malformed,
}

impl Failure {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Error => "error",
            Failure::Malformed => "malformed",
        }
    }
}

/// The health of one fleet connection.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// An outage is under way: operations skip Redis until a background
    /// ping gets an answer.
    down: AtomicBool,
    errors: AtomicU64,
    /// A malformed entry was logged already (once per connection).
    malformed_told: AtomicBool,
}

impl Health {
    /// Whether operations should skip Redis for now.
    pub(crate) fn is_down(&self) -> bool {
        self.down.load(Relaxed)
    }

    /// Errors counted so far.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Relaxed)
    }

    /// An operation failed. Returns whether this began an outage (the caller
    /// then starts the background reconnect).
    pub(crate) fn failed(
        &self,
        namespace: &str,
        operation: &str,
        failure: Failure,
        detail: &str,
    ) -> bool {
        self.count(failure);
        if failure == Failure::Malformed {
            if !self.malformed_told.swap(true, Relaxed) {
                tracing::warn!(
                    target: "resilience", namespace, operation, error = detail,
                    "a Redis reply for one fleet key was malformed, oversized, of the wrong type \
                     or refused: a miss for that key, the others go on sharing \
                     (counted in fleet_errors_total{{kind=\"malformed\"}}; told once)"
                );
            }
            return false;
        }
        if self.down.swap(true, Relaxed) {
            return false;
        }
        tracing::warn!(
            target: "resilience", namespace, operation, error = detail, kind = failure.as_str(),
            "fleet Redis unreachable: calls go on with local state only, reconnecting in the background"
        );
        true
    }

    /// Redis answered again: sharing resumes.
    pub(crate) fn recovered(&self, namespace: &str) {
        if self.down.swap(false, Relaxed) {
            tracing::info!(target: "resilience", namespace, "fleet Redis reachable again: sharing resumes");
        }
    }

    fn count(&self, failure: Failure) {
        self.errors.fetch_add(1, Relaxed);
        FLEET_ERRORS_TOTAL.increment(&[("kind", failure.as_str())]);
    }
}
