//! `#[retry(budget = "...")]`: retries of every function naming one budget
//! stay within a share of their calls (issue 26), on paused time.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use resilience_runtime::retry;
use resilience_runtime::retry::budget::{self, RetryBudgetConfig};

use crate::events::Recorder;

/// 20 % of the calls, no floor: the ratio alone decides.
fn ratio_only(name: &'static str) {
    budget::configure(name, RetryBudgetConfig::new().ratio(0.2).min_per_sec(0)).unwrap();
}

static SEARCH_ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static SUGGEST_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[retry(
    max = 3,
    backoff = "fixed",
    delay = "100ms",
    jitter = "none",
    budget = "storm-search"
)]
async fn search() -> Result<(), &'static str> {
    SEARCH_ATTEMPTS.fetch_add(1, SeqCst);
    Err("search down")
}

#[retry(
    max = 3,
    backoff = "fixed",
    delay = "100ms",
    jitter = "none",
    budget = "storm-search"
)]
async fn suggest() -> Result<(), &'static str> {
    SUGGEST_ATTEMPTS.fetch_add(1, SeqCst);
    Err("search down")
}

/// A dead dependency behind two functions sharing one budget: 100 calls
/// make 20 retries between them (20 %), not 200 (every call `max` times).
#[tokio::test(start_paused = true)]
async fn a_dead_dependency_meets_its_calls_and_a_fifth_more_not_three_times_them() {
    ratio_only("storm-search");
    for _ in 0..50 {
        assert_eq!(search().await, Err("search down"));
        assert_eq!(suggest().await, Err("search down"));
    }
    let attempts = SEARCH_ATTEMPTS.load(SeqCst) + SUGGEST_ATTEMPTS.load(SeqCst);
    assert_eq!(attempts, 100 + 20);
    assert_eq!(budget::get("storm-search").remaining(), 0);
}

static REFUSED: AtomicU32 = AtomicU32::new(0);

#[retry(max = 4, backoff = "none", budget = "storm-refused")]
async fn refused() -> Result<(), &'static str> {
    REFUSED.fetch_add(1, SeqCst);
    Err("down")
}

/// An empty budget ends the call at once with the error it has, and says
/// so: an event naming the budget.
#[tokio::test(start_paused = true)]
async fn an_empty_budget_returns_the_error_at_once_with_an_event() {
    ratio_only("storm-refused");
    let (recorder, _guard) = Recorder::install();
    let started = tokio::time::Instant::now();
    assert_eq!(refused().await, Err("down"));
    assert_eq!(REFUSED.load(SeqCst), 1, "1 call: 0.2 retries, none");
    assert_eq!(started.elapsed(), Duration::ZERO);
    let last = recorder.events().pop().unwrap();
    assert_eq!(last.field("outcome"), Some("retry_budget_exhausted"));
    assert_eq!(last.field("budget"), Some("storm-refused"));
    assert_eq!(
        last.field("function"),
        Some("behaviour::retry_storm::refused")
    );
}

static FLAKY_FAILS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, backoff = "none", budget = "storm-earned")]
fn flaky(fail: bool) -> Result<u32, &'static str> {
    if fail {
        FLAKY_FAILS.fetch_add(1, SeqCst);
        Err("blip")
    } else {
        Ok(1)
    }
}

/// Healthy calls earn the retries a later blip spends, and those leave
/// with the window: 10 s later the budget holds only what new calls earn.
#[tokio::test(start_paused = true)]
async fn healthy_calls_earn_retries_for_the_window_only() {
    ratio_only("storm-earned");
    for _ in 0..10 {
        assert_eq!(flaky(false), Ok(1));
    }
    // 10 calls earned 2 retries; this 11th call's blip may take both.
    assert_eq!(flaky(true), Err("blip"));
    assert_eq!(FLAKY_FAILS.load(SeqCst), 3);

    tokio::time::advance(Duration::from_secs(10)).await;
    for _ in 0..4 {
        assert_eq!(flaky(false), Ok(1));
    }
    // The window holds 5 calls now (this one included): 1 retry.
    assert_eq!(flaky(true), Err("blip"));
    assert_eq!(FLAKY_FAILS.load(SeqCst), 3 + 2);
}

static QUIET: AtomicU32 = AtomicU32::new(0);

#[retry(max = 2, backoff = "none", budget = "storm-quiet")]
async fn quiet() -> Result<(), &'static str> {
    QUIET.fetch_add(1, SeqCst);
    Err("down")
}

/// The default rule's floor, 10 retries a second over 10 s, lets a quiet
/// service retry: 150 failing calls get 100 + 20 % of 150 = 130 retries.
#[tokio::test(start_paused = true)]
async fn the_default_floor_lets_a_quiet_service_retry() {
    for _ in 0..150 {
        assert_eq!(quiet().await, Err("down"));
    }
    assert_eq!(QUIET.load(SeqCst), 150 + 130);
}

/// A budget is configured once, before its first use.
#[test]
fn a_budget_in_use_keeps_its_rule() {
    budget::configure("storm-fixed", RetryBudgetConfig::new()).unwrap();
    let error = budget::configure("storm-fixed", RetryBudgetConfig::new().ratio(1.0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "retry budget `storm-fixed` is already in use: configure it before the first call that names it"
    );
    let error = budget::configure(
        "storm-half-second",
        RetryBudgetConfig::new().window(Duration::from_millis(500)),
    )
    .unwrap_err();
    assert!(error.to_string().contains("whole seconds"), "{error}");
}
