//! The ledger against a model written from the budget's documented rule,
//! not from the ledger: "a retry asked for in second `t` is allowed when
//! the retries allowed in the window, this one included, are at most the
//! ratio of the window's calls (rounded down) plus `min_per_sec` × its
//! seconds; the window is second `t` and the `window − 1` seconds before".

use std::sync::{Arc, Barrier};

use proptest::prelude::*;

use super::{Ledger, MILLION};

/// What happens to a budget, in order, at whole seconds that never go back.
#[derive(Debug, Clone, Copy)]
enum Event {
    /// `n` calls made.
    Calls(u64),
    /// One retry asked for.
    Retry,
    /// Time moves on this many seconds.
    Wait(u64),
}

/// The rule, over plain lists of what happened when.
struct Model {
    window: u64,
    /// Retries per thousand calls: the ratio is `per_mille / 1000`, exactly.
    per_mille: u64,
    min_per_sec: u64,
    calls: Vec<u64>,
    granted: Vec<u64>,
}

impl Model {
    fn in_window(&self, at: u64, now: u64) -> bool {
        at <= now && at + self.window > now
    }

    fn retry(&mut self, now: u64) -> bool {
        let calls = self
            .calls
            .iter()
            .filter(|&&at| self.in_window(at, now))
            .count() as u64;
        let granted = self
            .granted
            .iter()
            .filter(|&&at| self.in_window(at, now))
            .count() as u64;
        let allowed = calls * self.per_mille / 1000 + self.min_per_sec * self.window;
        let grant = granted < allowed;
        if grant {
            self.granted.push(now);
        }
        grant
    }
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    let event = prop_oneof![
        3 => (1_u64..20).prop_map(Event::Calls),
        4 => Just(Event::Retry),
        1 => (0_u64..4).prop_map(Event::Wait),
        1 => (4_u64..30).prop_map(Event::Wait),
    ];
    prop::collection::vec(event, 0..300)
}

proptest! {
    #[test]
    fn every_retry_is_granted_exactly_when_the_rule_allows_it(
        window in 1_u32..12,
        per_mille in 0_u64..1500,
        min_per_sec in 0_u32..3,
        events in events(),
    ) {
        let ratio = per_mille as f64 / 1000.0;
        let ledger = Ledger::new(window, (ratio * MILLION as f64).round() as u64, min_per_sec);
        let mut model = Model {
            window: u64::from(window),
            per_mille,
            min_per_sec: u64::from(min_per_sec),
            calls: Vec::new(),
            granted: Vec::new(),
        };
        let mut now = 0;
        for (step, event) in events.into_iter().enumerate() {
            match event {
                Event::Calls(n) => {
                    for _ in 0..n {
                        ledger.deposit(now);
                        model.calls.push(now);
                    }
                }
                Event::Retry => {
                    prop_assert_eq!(ledger.withdraw(now), model.retry(now), "step {} at {}", step, now);
                }
                Event::Wait(seconds) => now += seconds,
            }
        }
    }
}

#[test]
fn a_fractional_ratio_rounds_down_and_never_lends() {
    // 20 % of 7 calls is 1.4: one retry, not two.
    let ledger = Ledger::new(10, 200_000, 0);
    for _ in 0..7 {
        ledger.deposit(3);
    }
    assert_eq!(ledger.remaining(3), 1);
    assert!(ledger.withdraw(3));
    assert!(!ledger.withdraw(3));
    // Three more calls make 10: 2 in all, one left.
    for _ in 0..3 {
        ledger.deposit(3);
    }
    assert!(ledger.withdraw(3));
    assert!(!ledger.withdraw(3));
}

#[test]
fn calls_and_retries_leave_the_window_after_it() {
    let ledger = Ledger::new(10, 500_000, 0);
    for _ in 0..4 {
        ledger.deposit(0);
    }
    assert!(ledger.withdraw(0));
    assert!(ledger.withdraw(9));
    assert!(!ledger.withdraw(9), "2 of 4 calls' 50 %");
    // Second 10: the calls of second 0 are out, and so is its retry.
    assert_eq!(ledger.remaining(10), 0);
    ledger.deposit(10);
    ledger.deposit(10);
    assert!(
        !ledger.withdraw(10),
        "the retry of second 9 takes the 1 allowed"
    );
    assert!(ledger.withdraw(19));
}

#[test]
fn the_reserve_lets_a_quiet_budget_retry() {
    let ledger = Ledger::new(10, 200_000, 1);
    let granted = (0..20).filter(|_| ledger.withdraw(0)).count();
    assert_eq!(granted, 10, "1 a second over 10 s, no calls");
}

/// Exact under concurrency: 4 threads make 1 000 calls each, then 4
/// threads ask for 500 retries each at once. 20 % of 4 000 calls is 800,
/// and 800 it must be: a check and a take that are not one step grant
/// more.
#[test]
fn retries_asked_for_at_once_by_threads_take_exactly_what_the_rule_allows() {
    let ledger = Arc::new(Ledger::new(10, 200_000, 0));
    let run = |work: fn(&Ledger) -> u64| {
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (ledger, start) = (Arc::clone(&ledger), Arc::clone(&start));
                std::thread::spawn(move || {
                    start.wait();
                    work(&ledger)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
    };
    run(|ledger| {
        (0..1000).for_each(|_| ledger.deposit(7));
        0
    });
    let granted = run(|ledger| (0..500).map(|_| u64::from(ledger.withdraw(7))).sum());
    assert_eq!(granted, 800);
    assert_eq!(ledger.remaining(7), 0);
}

/// Calls and retries at once, from threads: whatever the interleaving,
/// the retries granted never exceed what the calls made so far allow, and
/// once the calls are all in, what is granted and what remains add up to
/// the rule's allowance.
#[test]
fn calls_and_retries_at_once_never_grant_more_than_the_calls_allow() {
    let ledger = Arc::new(Ledger::new(10, 250_000, 0));
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let (ledger, start) = (Arc::clone(&ledger), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let mut granted = 0;
                for _ in 0..2000 {
                    if thread % 2 == 0 {
                        ledger.deposit(1);
                    } else {
                        granted += u64::from(ledger.withdraw(1));
                    }
                }
                granted
            })
        })
        .collect();
    let granted: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(granted <= 1000, "25 % of 4 000 calls: {granted}");
    assert_eq!(granted + ledger.remaining(1), 1000);
}
