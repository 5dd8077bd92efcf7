//! A retry budget's accounts: calls and retries per second of its window.
//!
//! Time is whole seconds from the budget's creation, given by the caller,
//! so that the rule can be tested without a clock. Calls are counted
//! without a lock (every decorated call deposits one); retries are granted
//! under a lock, so that two retries asked for at once cannot both take
//! the last one the budget allows.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

/// A call count slot: the second it counts in the high bits, its count in
/// the low ones.
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
/// Seconds are kept modulo 2^24 (194 days): a slot untouched for exactly a
/// multiple of that reads as current, once, which only adds its old calls.
const STAMP_MASK: u64 = (1 << (64 - COUNT_BITS)) - 1;

/// One million: ratios are kept in millionths, so that the rule is integer
/// arithmetic and a ratio such as 0.2 is exact.
pub(crate) const MILLION: u64 = 1_000_000;

/// The accounts of one budget.
pub(crate) struct Ledger {
    /// Calls per second of the window, slot `second % window`.
    calls: Box<[AtomicU64]>,
    /// Retries granted per second of the window, as `(second, count)`.
    retries: Mutex<Box<[(u64, u64)]>>,
    /// Retries allowed per call, in millionths.
    ratio_ppm: u64,
    /// Retries allowed in every window whatever the calls, in millionths:
    /// `min_per_sec` × the window's seconds.
    reserve_ppm: u64,
}

impl Ledger {
    /// Accounts over a window of `window` seconds (at least 1).
    pub(crate) fn new(window: u32, ratio_ppm: u64, min_per_sec: u32) -> Self {
        let window = window.max(1);
        Self {
            calls: (0..window).map(|_| AtomicU64::new(0)).collect(),
            retries: Mutex::new(vec![(0, 0); window as usize].into_boxed_slice()),
            ratio_ppm,
            reserve_ppm: u64::from(min_per_sec) * u64::from(window) * MILLION,
        }
    }

    fn window(&self) -> u64 {
        self.calls.len() as u64
    }

    /// Counts a call made in `second`.
    #[inline]
    pub(crate) fn deposit(&self, second: u64) {
        let slot = &self.calls[(second % self.window()) as usize];
        let stamp = second & STAMP_MASK;
        let mut seen = slot.load(Relaxed);
        loop {
            // Current, or a later second's (this thread's reading was a
            // little behind another's): the call counts there.
            let age = age(stamp, seen);
            if age == 0 || self.ahead(age) {
                slot.fetch_add(1, Relaxed);
                return;
            }
            // An earlier second's slot: this second takes it over.
            match slot.compare_exchange_weak(seen, (stamp << COUNT_BITS) | 1, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(now) => seen = now,
            }
        }
    }

    /// Whether a slot `age` seconds old is in fact a later second's (the
    /// reading asking is a little behind another thread's).
    fn ahead(&self, age: u64) -> bool {
        age > STAMP_MASK - self.window()
    }

    /// The calls counted in the window that ends with `second`.
    fn calls_in_window(&self, second: u64) -> u64 {
        let stamp = second & STAMP_MASK;
        self.calls
            .iter()
            .map(|slot| slot.load(Relaxed))
            .filter(|&slot| {
                let age = age(stamp, slot);
                age < self.window() || self.ahead(age)
            })
            .map(|slot| slot & COUNT_MASK)
            .sum()
    }

    /// Retries the window that ends with `second` allows in all, in
    /// millionths.
    fn allowance_ppm(&self, second: u64) -> u128 {
        u128::from(self.calls_in_window(second)) * u128::from(self.ratio_ppm)
            + u128::from(self.reserve_ppm)
    }

    /// Takes one retry in `second` if the window that ends there allows
    /// it: the retries granted in the window, this one included, at most
    /// the ratio of its calls plus the reserve.
    pub(crate) fn withdraw(&self, second: u64) -> bool {
        let mut retries = self.retries.lock();
        let granted = granted_in_window(&retries, second, self.window());
        if u128::from(granted + 1) * u128::from(MILLION) > self.allowance_ppm(second) {
            return false;
        }
        let slot = &mut retries[(second % self.window()) as usize];
        if slot.0 == second {
            slot.1 += 1;
        } else if slot.0 < second || slot.1 == 0 {
            *slot = (second, 1);
        } else {
            // A later second's slot (a reading behind another thread's):
            // the retry counts there.
            slot.1 += 1;
        }
        true
    }

    /// Retries the window that ends with `second` still allows.
    pub(crate) fn remaining(&self, second: u64) -> u64 {
        let retries = self.retries.lock();
        let granted = u128::from(granted_in_window(&retries, second, self.window()));
        let allowed = self.allowance_ppm(second) / u128::from(MILLION);
        u64::try_from(allowed.saturating_sub(granted)).unwrap_or(u64::MAX)
    }
}

/// How many seconds the second a call slot counts lies before `stamp`,
/// modulo the stamps' range.
fn age(stamp: u64, slot: u64) -> u64 {
    stamp.wrapping_sub(slot >> COUNT_BITS) & STAMP_MASK
}

/// Retries granted in the window of `window` seconds that ends with
/// `second`.
fn granted_in_window(retries: &[(u64, u64)], second: u64, window: u64) -> u64 {
    retries
        .iter()
        .filter(|(at, _)| *at + window > second)
        .map(|(_, count)| count)
        .sum()
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
