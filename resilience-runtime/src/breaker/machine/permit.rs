//! [`Permit`]: leave to make one call, and the record of how it ended.

use std::fmt;
use std::mem::ManuallyDrop;

use super::{Breaker, ProbeEnd};

/// Leave to make one call through a [`Breaker`]; record the call's outcome
/// with [`record`](Self::record).
///
/// A permit dropped without `record` — its future was dropped, or the call
/// panicked — counts as neither success nor failure, and a half-open probe
/// permit gives its slot back for the next probe. The one exception: a
/// permit dropped by a `#[timeout]` above the breaker, as it cuts the call
/// off at its deadline, counts as a failure (the dependency did not answer
/// in time), so a dependency that always hangs still opens the breaker.
///
/// ```
/// use resilience_runtime::breaker::{Breaker, BreakerConfig, WindowCounts};
///
/// let breaker = Breaker::new("geo", BreakerConfig::new());
/// let permit = breaker.try_acquire().unwrap();
/// drop(permit); // cancelled: not counted
/// assert_eq!(breaker.counts(), WindowCounts::default());
/// ```
#[must_use = "record the call's outcome with `Permit::record`; a dropped permit counts as a cancelled call"]
pub struct Permit<'a> {
    pub(super) breaker: &'a Breaker,
    pub(super) ticket: Ticket,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Ticket {
    /// A call made while closed, in window generation `generation`.
    Closed { generation: u64 },
    /// A half-open probe of episode `episode`.
    Probe { episode: u64 },
}

impl Permit<'_> {
    /// Records how the call ended: `failed` is `true` when it returned an
    /// error that counts as a failure (`#[breaker(when = ..)]` decides which
    /// do).
    ///
    /// ```
    /// # use resilience_runtime::breaker::{Breaker, BreakerConfig, WindowCounts};
    /// let breaker = Breaker::new("geo", BreakerConfig::new());
    /// breaker.try_acquire().unwrap().record(false);
    /// assert_eq!(breaker.counts(), WindowCounts { successes: 1, failures: 0 });
    /// ```
    #[inline]
    pub fn record(self, failed: bool) {
        let this = ManuallyDrop::new(self);
        match this.ticket {
            Ticket::Closed { generation } => this.breaker.record_closed(generation, failed),
            Ticket::Probe { episode } => {
                let end = if failed {
                    ProbeEnd::Failed
                } else {
                    ProbeEnd::Succeeded
                };
                this.breaker.finish_probe(episode, end);
            }
        }
    }
}

impl Drop for Permit<'_> {
    /// A call cut off by a `#[timeout]` above the breaker failed (its
    /// dependency did not answer in time); any other drop abandons it.
    fn drop(&mut self) {
        let cut_off = crate::timeout::cutting_off();
        match self.ticket {
            Ticket::Closed { generation } if cut_off => {
                self.breaker.record_closed(generation, true);
            }
            Ticket::Closed { .. } => {}
            Ticket::Probe { episode } => {
                let end = if cut_off {
                    ProbeEnd::Failed
                } else {
                    ProbeEnd::Abandoned
                };
                self.breaker.finish_probe(episode, end);
            }
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.ticket {
            Ticket::Closed { .. } => "call",
            Ticket::Probe { .. } => "probe",
        };
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name)
            .field("kind", &kind)
            .finish()
    }
}
