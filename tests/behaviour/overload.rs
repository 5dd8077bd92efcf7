//! The overload simulations of `cargo run --example overload` (issue 26):
//! their goals, pinned. One test for each simulation, as their budgets,
//! breakers and counters are process-wide.

use resilience_examples::overload::{self, Limit, Mode, Retries};

/// Three services to a dead fourth: 27 attempts per request with plain
/// retries, at most 1.3 with budgets and the "do not retry what was
/// retried or shed below" signal.
#[tokio::test(start_paused = true)]
async fn retry_budgets_keep_a_dead_service_s_load_near_its_requests() {
    let plain = overload::amplification(Retries::Plain, 2_000).await;
    assert_eq!(plain.factor(), 27.0);
    let budget = overload::amplification(Retries::Budget, 20_000).await;
    assert!(budget.factor() < 2.0, "{budget:?}");
    let signal = overload::amplification(Retries::BudgetAndSignal, 20_000).await;
    assert!(signal.factor() <= 1.3, "{signal:?}");
}

/// A minute of 50 % failures: the rate breaker flaps; the throttling one
/// never changes state, sends at most K = 2 calls per accepted one, and
/// lets every call through again within two windows (20 s).
#[tokio::test(start_paused = true)]
async fn a_throttling_breaker_meets_a_brown_out_without_a_flap() {
    let rate = overload::brown_out(Mode::Rate, 26).await;
    assert!(rate.transitions > 2, "the rate breaker flaps: {rate:?}");
    let throttle = overload::brown_out(Mode::Throttle, 26).await;
    assert_eq!(throttle.transitions, 0, "{throttle:?}");
    assert!(throttle.load_per_accepted() <= 2.0 * 1.05, "{throttle:?}");
    assert!(throttle.back_after_secs <= 20, "{throttle:?}");
}

/// Offered load steps to 3x a dependency's capacity: with no bulkhead its
/// goodput collapses; an adaptive bulkhead that starts at 5x the capacity
/// finds it from latency and keeps goodput at 90 % or more, the calls it
/// lets through within twice the unloaded latency.
#[tokio::test(start_paused = true)]
async fn an_adaptive_bulkhead_keeps_goodput_through_an_overload_step() {
    let none = overload::overload_step(Limit::None).await;
    assert!(none.goodput < 0.5, "collapse: {none:?}");
    let adaptive = overload::overload_step(Limit::Adaptive).await;
    assert!(adaptive.goodput >= 0.9, "{adaptive:?}");
    assert!(
        adaptive.admitted_p99 <= adaptive.unloaded_p99 * 2,
        "{adaptive:?}"
    );
}
