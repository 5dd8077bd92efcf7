//! The seeded draw: what one call of an injected target meets.
//!
//! One draw per call from a generator seeded by the injection, so the same
//! seed and the same order of calls meet the same faults: a rehearsal
//! replays.

use std::time::Duration;

use super::Fault;

/// What one call meets: the latency first, then at most one of a hang or
/// an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Added before the call goes on (zero: none).
    pub(crate) latency: Duration,
    /// The call hangs.
    pub(crate) hang: bool,
    /// The call fails with the application's error.
    pub(crate) error: bool,
}

/// A fault's generator: [`Dice::roll`] draws one call's [`Decision`].
#[derive(Debug)]
pub(crate) struct Dice {
    rng: fastrand::Rng,
}

impl Dice {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// One draw in `[0, 1)`: below `hangs` a hang, below `hangs + errors`
    /// an error (the two shares never overlap: [`super::inject`] refuses a
    /// sum above 1).
    pub(crate) fn roll(&mut self, fault: &Fault) -> Decision {
        let draw = self.rng.f64();
        let hang = draw < fault.hang_share();
        Decision {
            latency: fault.latency_value(),
            hang,
            error: !hang && draw < fault.hang_share() + fault.error_share(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolls(seed: u64, fault: &Fault, n: usize) -> Vec<Decision> {
        let mut dice = Dice::new(seed);
        (0..n).map(|_| dice.roll(fault)).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sequence() {
        let fault = Fault::new(0).errors(0.3).hangs(0.2);
        let first = rolls(42, &fault, 200);
        assert_eq!(first, rolls(42, &fault, 200));
        assert_ne!(first, rolls(43, &fault, 200), "another seed, another run");
    }

    #[test]
    fn shares_are_kept_and_never_overlap() {
        let fault = Fault::new(0).errors(0.3).hangs(0.2);
        let drawn = rolls(7, &fault, 10_000);
        let errors = drawn.iter().filter(|d| d.error).count();
        let hangs = drawn.iter().filter(|d| d.hang).count();
        assert!(
            (2_800..3_200).contains(&errors),
            "{errors} errors in 10 000"
        );
        assert!((1_800..2_200).contains(&hangs), "{hangs} hangs in 10 000");
        assert!(drawn.iter().all(|d| !(d.error && d.hang)));
    }

    #[test]
    fn the_edges_are_all_or_nothing() {
        let always = rolls(1, &Fault::new(0).errors(1.0), 1_000);
        assert!(always.iter().all(|d| d.error && !d.hang));
        let never = rolls(1, &Fault::new(0).latency(Duration::from_millis(5)), 1_000);
        assert!(never.iter().all(|d| !d.error && !d.hang));
        assert!(never.iter().all(|d| d.latency == Duration::from_millis(5)));
        let hang = rolls(1, &Fault::new(0).hangs(1.0), 1_000);
        assert!(hang.iter().all(|d| d.hang && !d.error));
    }
}
