//! One call meeting its injected faults: the wait, the hang, the error,
//! each told as an event, counted, and recorded in the recovery scope.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::dice::Decision;
use super::registry::{self, ARMED, Injection};
use crate::meters::CounterDef;

/// `chaos_injections_total{target, fault}`.
static CHAOS_INJECTIONS_TOTAL: CounterDef = CounterDef::new(
    "chaos_injections_total",
    "Faults injected by resilience_runtime::chaos, by target and fault: error, latency, hang",
);

/// Where a point is: in a decorated function's attempt, or at a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    Function,
    Breaker,
}

/// The faults one call at a point is to meet.
#[derive(Debug)]
pub struct Strike {
    target: &'static str,
    site: Site,
    injection: Arc<Injection>,
    decision: Decision,
}

/// What is left of a [`Strike`] once its wait is over: the error, if one
/// was drawn.
#[derive(Debug)]
pub struct Landed {
    strike: Option<Strike>,
}

/// The point's cold half: the target's draw, if it is injected.
#[cold]
#[inline(never)]
pub(crate) fn strike(target: &'static str, site: Site) -> Option<Strike> {
    let injection = registry::injection(target)?;
    let decision = injection.roll();
    Some(Strike {
        target,
        site,
        injection,
        decision,
    })
}

/// Whether any target is injected (one relaxed load).
#[inline(always)]
pub(crate) fn armed() -> bool {
    ARMED.load(Relaxed)
}

impl Strike {
    /// Waits the injected latency on the one clock (a paused tokio clock
    /// skips it), then hangs — pending forever, so a `#[timeout]` above
    /// cuts it off — or goes on.
    pub async fn land(self) -> Landed {
        if !self.decision.latency.is_zero() {
            self.tell("latency");
            // Boxed: the sleep's state is in the attempt's future only
            // when a rehearsal injects latency.
            Box::pin(tokio::time::sleep(self.decision.latency)).await;
        }
        if self.decision.hang {
            self.tell("hang");
            std::future::pending::<()>().await;
        }
        self.landed()
    }

    /// [`land`](Self::land) for a sync function: the latency is a thread
    /// sleep, and a hang — which nothing can cut off in sync code — blocks
    /// for the fault's [`blocking_hang`](super::Fault::blocking_hang), then
    /// goes on.
    ///
    /// Out of line, as the rest of a struck call: the healthy path inlined
    /// at every point stays the load and a branch.
    #[cold]
    #[inline(never)]
    pub fn land_blocking(self) -> Landed {
        if !self.decision.latency.is_zero() {
            self.tell("latency");
            std::thread::sleep(self.decision.latency);
        }
        if self.decision.hang {
            self.tell("hang");
            std::thread::sleep(self.injection.fault.blocking_hang_value());
        }
        self.landed()
    }

    fn landed(self) -> Landed {
        Landed {
            strike: self.decision.error.then_some(self),
        }
    }

    fn tell(&self, fault: &'static str) {
        let latency_ms = crate::clock::millis(self.decision.latency);
        // One event, whose target field is named for the site (a field's
        // name must be written out for `tracing`).
        macro_rules! injected {
            ($site:ident) => {
                tracing::warn!(
                    target: "resilience",
                    $site = self.target,
                    fault,
                    latency_ms,
                    "chaos: injected a fault"
                )
            };
        }
        match self.site {
            Site::Function => injected!(function),
            Site::Breaker => injected!(breaker),
        }
        CHAOS_INJECTIONS_TOTAL.increment(&[("target", self.target), ("fault", fault)]);
        crate::recovery::chaos_injected();
    }

    /// Errors were asked for, but no maker makes this point's error type.
    #[cold]
    fn warn_unmade(&self, error_type: &str) {
        const MESSAGE: &str = "chaos: no error maker for this error type; the call goes on";
        match self.site {
            Site::Function => {
                tracing::warn!(target: "resilience", function = self.target, error_type, "{MESSAGE}");
            }
            Site::Breaker => {
                tracing::warn!(target: "resilience", breaker = self.target, error_type, "{MESSAGE}");
            }
        }
    }
}

impl Landed {
    /// The error to fail the call with, made by the maker registered for
    /// the target and `E`; `None` when no error was drawn, or when no maker
    /// makes an `E` (then the call goes on, and a warning says so once per
    /// injection).
    #[inline(never)]
    pub fn error<E: 'static>(self) -> Option<E> {
        let strike = self.strike?;
        let Some(error) = registry::make::<E>(strike.target) else {
            if !strike.injection.warned_unmade.swap(true, Relaxed) {
                strike.warn_unmade(std::any::type_name::<E>());
            }
            return None;
        };
        strike.tell("error");
        Some(error)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::chaos::{self, Fault};
    use crate::test_events::{record_events, recorded_events};

    #[test]
    fn each_fault_met_is_a_warning_with_its_target_and_kind() {
        chaos::register_error("strike::events", || "injected");
        let fault = Fault::new(1).errors(1.0).latency(Duration::from_millis(1));
        chaos::inject("strike::events", fault).unwrap();
        record_events();
        let strike =
            crate::__private::chaos::point(crate::__private::chaos::armed(), "strike::events")
                .unwrap();
        assert_eq!(strike.land_blocking().error::<&str>(), Some("injected"));
        chaos::stop("strike::events");
        let events = recorded_events();
        let faults: Vec<&str> = events
            .iter()
            .map(|event| event.fields["fault"].as_str())
            .collect();
        assert_eq!(faults, ["latency", "error"]);
        for event in &events {
            assert_eq!(event.level, tracing::Level::WARN);
            assert_eq!(event.target, "resilience");
            assert_eq!(event.fields["function"], "strike::events");
            assert_eq!(event.fields["latency_ms"], "1");
        }
    }

    #[test]
    fn an_error_type_without_a_maker_goes_on_with_one_warning() {
        chaos::register_error("strike-unmade", || "a &str, not a u32");
        chaos::inject("strike-unmade", Fault::new(1).errors(1.0)).unwrap();
        record_events();
        for _ in 0..3 {
            let strike = crate::__private::chaos::breaker_point(
                crate::__private::chaos::armed(),
                "strike-unmade",
            )
            .unwrap();
            assert_eq!(strike.land_blocking().error::<u32>(), None);
        }
        chaos::stop("strike-unmade");
        let events = recorded_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].fields["breaker"], "strike-unmade");
        assert_eq!(events[0].fields["error_type"], "u32");
    }

    #[test]
    fn idle_points_strike_nothing() {
        assert!(
            crate::__private::chaos::point(
                crate::__private::chaos::armed(),
                "strike::never_injected"
            )
            .is_none()
        );
        assert!(
            crate::__private::chaos::breaker_point(
                crate::__private::chaos::armed(),
                "strike-never-injected"
            )
            .is_none()
        );
    }
}
