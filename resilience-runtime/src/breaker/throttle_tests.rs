//! The `throttle` rule (issue 26): Google SRE's client-side throttling,
//! against a model written from its formula, and a brown-out on paused
//! time.

use std::time::Duration;

use proptest::prelude::*;
use tokio::time::advance;

use super::*;

/// The SRE book's rule: reject with probability
/// max(0, (requests − K × accepts) / (requests + 1)).
fn model(requests: u64, accepts: u64, k: f64) -> f64 {
    ((requests as f64 - k * accepts as f64) / (requests as f64 + 1.0)).max(0.0)
}

proptest! {
    /// Within one window (time stands still), whatever the outcomes and
    /// whichever calls the breaker rejects, its probability is the rule's
    /// over the requests made (rejected ones included) and those accepted.
    #[test]
    fn the_probability_is_the_rule_over_requests_and_accepts(
        k in 1.0_f64..4.0,
        outcomes in prop::collection::vec(any::<bool>(), 1..200),
        seed in any::<u64>(),
    ) {
        fastrand::seed(seed);
        let breaker = Breaker::new("throttle-model", BreakerConfig::new().throttle(k));
        let (mut requests, mut accepts) = (0, 0);
        for failed in outcomes {
            requests += 1;
            if let Ok(permit) = breaker.try_acquire() {
                permit.record(failed);
                accepts += u64::from(!failed);
            }
            let expected = model(requests, accepts, k);
            prop_assert!(
                (breaker.throttle_probability() - expected).abs() < 1e-12,
                "{} after {} requests, {} accepted: the rule says {}",
                breaker.throttle_probability(), requests, accepts, expected
            );
            prop_assert_eq!(breaker.state(), State::Closed);
        }
    }
}

/// One simulated second of `rate` calls to a dependency that fails with
/// probability `failing`: (calls that reached it, calls it accepted).
async fn second(breaker: &Breaker, rate: u32, failing: f64) -> (u32, u32) {
    let (mut sent, mut accepted) = (0, 0);
    for _ in 0..rate {
        if let Ok(permit) = breaker.try_acquire() {
            sent += 1;
            let failed = fastrand::f64() < failing;
            accepted += u32::from(!failed);
            permit.record(failed);
        }
        advance(Duration::from_secs(1) / rate).await;
    }
    (sent, accepted)
}

/// A brown-out: the dependency fails half its calls for a minute, then
/// recovers. The throttling breaker never opens or closes; the dependency
/// sees about K × the calls it accepts; full traffic is back within two
/// windows of the recovery.
#[tokio::test(start_paused = true)]
async fn a_brown_out_is_shed_in_proportion_without_a_flap() {
    fastrand::seed(26);
    let window = Duration::from_secs(10);
    let breaker = Breaker::new(
        "brown-out",
        BreakerConfig::new().throttle(2.0).window(window),
    );
    let changes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&changes);
    breaker.on_state_change(move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });

    let (mut sent, mut accepted) = (0, 0);
    for _ in 0..60 {
        let (s, a) = second(&breaker, 100, 0.5).await;
        sent += s;
        accepted += a;
    }
    assert!(
        f64::from(sent) <= 2.0 * f64::from(accepted) * 1.05,
        "{sent} calls reached the dependency, which accepted {accepted}"
    );
    assert!(sent < 6000, "some load was shed: {sent} of 6000");

    // Recovered: within two windows every call goes through again.
    let mut back_after = None;
    for at in 1..=20 {
        let (s, _) = second(&breaker, 100, 0.0).await;
        if s == 100 && back_after.is_none() {
            back_after = Some(at);
        }
    }
    let back_after = back_after.expect("full traffic came back");
    assert!(back_after <= 20, "full traffic back after {back_after} s");
    assert_eq!(breaker.throttle_probability(), 0.0);
    assert_eq!(
        changes.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no flap"
    );
    assert_eq!(breaker.state(), State::Closed);
}

/// A healthy dependency is never throttled, and the rate rule is off: a
/// dependency that fails every call is throttled, never opened.
#[tokio::test(start_paused = true)]
async fn healthy_calls_pass_and_failing_ones_never_open_it() {
    fastrand::seed(3);
    let breaker = Breaker::new("throttle-healthy", BreakerConfig::new().throttle(2.0));
    assert_eq!(second(&breaker, 200, 0.0).await, (200, 200));
    assert_eq!(breaker.throttle_probability(), 0.0);
    // 200 accepted earn 400 requests (K = 2): the first second of failures
    // goes through, the next ones are shed more and more.
    assert_eq!(second(&breaker, 200, 1.0).await.0, 200);
    let (sent, _) = second(&breaker, 200, 1.0).await;
    assert!(sent < 200, "throttled: {sent}");
    let (later, _) = second(&breaker, 200, 1.0).await;
    assert!(
        later < sent,
        "shed more as failures pile up: {later} after {sent}"
    );
    assert_eq!(breaker.state(), State::Closed);
    breaker.reset();
    assert_eq!(breaker.throttle_probability(), 0.0, "reset: a new window");
}
