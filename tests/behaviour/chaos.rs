//! `chaos` (runtime feature `chaos`): injected faults hit where the body
//! would run, once per attempt, or at a breaker, and the attributes around
//! them react as to real ones. Each test injects into targets of its own:
//! injections are process-wide.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::breaker::State;
use resilience_runtime::chaos::{self, ChaosError, Fault};
use resilience_runtime::{CircuitOpen, TimedOut, breaker, fallback, recovery, retry, timeout};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Injected,
    Open,
    TimedOut,
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

impl From<TimedOut> for ApiError {
    fn from(_: TimedOut) -> Self {
        ApiError::TimedOut
    }
}

/// The path chaos knows a function of this module by.
macro_rules! target {
    ($name:ident) => {
        concat!(module_path!(), "::", stringify!($name))
    };
}

static RETRIED_BODIES: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, delay = "100ms")]
async fn retried() -> Result<u32, ApiError> {
    RETRIED_BODIES.fetch_add(1, Ordering::SeqCst);
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn retry_retries_an_injected_error_and_the_body_never_runs() {
    chaos::register_error(target!(retried), || ApiError::Injected);
    chaos::inject(target!(retried), Fault::new(1).errors(1.0)).unwrap();
    let (result, recovery) = recovery::scope(retried()).await;
    assert_eq!(result, Err(ApiError::Injected));
    assert_eq!(recovery.retries, 2, "3 attempts, each met the fault");
    assert_eq!(recovery.chaos_faults, 3);
    assert_eq!(RETRIED_BODIES.load(Ordering::SeqCst), 0);

    assert!(chaos::stop(target!(retried)));
    let (result, recovery) = recovery::scope(retried()).await;
    assert_eq!(result, Ok(1));
    assert_eq!(recovery.chaos_faults, 0, "stopped: nothing injected");
    assert_eq!(RETRIED_BODIES.load(Ordering::SeqCst), 1);
}

#[retry(max = 2, delay = "10ms")]
async fn replayed(i: u32) -> Result<u32, ApiError> {
    Ok(i)
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_replays_the_same_faults() {
    chaos::register_error(target!(replayed), || ApiError::Injected);
    let mut runs = Vec::new();
    for _ in 0..2 {
        chaos::inject(target!(replayed), Fault::new(2026).errors(0.5)).unwrap();
        let mut run = Vec::new();
        for i in 0..40 {
            let (result, recovery) = recovery::scope(replayed(i)).await;
            run.push((result.is_ok(), recovery.retries));
        }
        runs.push(run);
    }
    chaos::stop(target!(replayed));
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|(ok, _)| !ok) && runs[0].iter().any(|(ok, _)| *ok));
}

#[breaker(
    name = "chaos-function-breaker",
    failure_rate = 0.5,
    min_calls = 4,
    open_for = 10
)]
async fn guarded() -> Result<u32, ApiError> {
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_breaker_opens_under_injected_errors_and_a_probe_closes_it_after() {
    chaos::register_error(target!(guarded), || ApiError::Injected);
    chaos::inject(target!(guarded), Fault::new(3).errors(1.0)).unwrap();
    for _ in 0..4 {
        assert_eq!(guarded().await, Err(ApiError::Injected));
    }
    let breaker = resilience_runtime::breaker::registry()
        .get("chaos-function-breaker")
        .unwrap();
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(guarded().await, Err(ApiError::Open));

    chaos::stop(target!(guarded));
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(guarded().await, Ok(1), "the probe");
    assert_eq!(breaker.state(), State::Closed);
}

static AT_BREAKER_BODIES: AtomicU32 = AtomicU32::new(0);

#[breaker(name = "chaos-at-breaker", failure_rate = 0.5, min_calls = 4)]
#[retry(max = 3, delay = "100ms")]
fn through_breaker() -> Result<u32, ApiError> {
    AT_BREAKER_BODIES.fetch_add(1, Ordering::SeqCst);
    Ok(1)
}

#[test]
fn an_injection_at_a_breaker_fails_its_calls_there_and_counts_them() {
    chaos::register_error("chaos-at-breaker", || ApiError::Injected);
    chaos::inject("chaos-at-breaker", Fault::new(4).errors(1.0)).unwrap();
    let (result, recovery) = recovery::scope_blocking(through_breaker);
    assert_eq!(result, Err(ApiError::Injected));
    assert_eq!(
        recovery.retries, 0,
        "failed at the breaker, above the retry"
    );
    assert_eq!(AT_BREAKER_BODIES.load(Ordering::SeqCst), 0);
    for _ in 0..3 {
        let _ = through_breaker();
    }
    let breaker = resilience_runtime::breaker::registry()
        .get("chaos-at-breaker")
        .unwrap();
    assert_eq!(breaker.counts().failures, 4, "each injected error counted");
    assert_eq!(breaker.state(), State::Open);
    chaos::stop("chaos-at-breaker");
}

#[retry(max = 2, delay = "100ms")]
async fn slow() -> Result<u32, ApiError> {
    Ok(5)
}

#[tokio::test(start_paused = true)]
async fn latency_is_waited_on_the_paused_clock() {
    let latency = Duration::from_millis(300);
    chaos::inject(target!(slow), Fault::new(5).latency(latency)).unwrap();
    let start = Instant::now();
    let (result, recovery) = recovery::scope(slow()).await;
    assert_eq!(result, Ok(5));
    assert_eq!(start.elapsed(), latency);
    assert_eq!(recovery.chaos_faults, 1);
    chaos::stop(target!(slow));
}

#[timeout(after = "2s")]
#[retry(max = 2, delay = "100ms", jitter = "none", backoff = "fixed")]
async fn hanging() -> Result<u32, ApiError> {
    Ok(6)
}

#[tokio::test(start_paused = true)]
async fn a_hang_is_cut_off_by_the_timeout_above() {
    chaos::inject(target!(hanging), Fault::new(6).hangs(1.0)).unwrap();
    let start = Instant::now();
    assert_eq!(hanging().await, Err(ApiError::TimedOut));
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    chaos::stop(target!(hanging));
    assert_eq!(hanging().await, Ok(6));
}

#[retry(max = 2, backoff = "none")]
fn sync_hang() -> Result<u32, ApiError> {
    Ok(7)
}

#[test]
fn a_sync_hang_blocks_for_its_bound_then_the_call_goes_on() {
    let bound = Duration::from_millis(5);
    chaos::inject(
        target!(sync_hang),
        Fault::new(7).hangs(1.0).blocking_hang(bound),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let (result, recovery) = recovery::scope_blocking(sync_hang);
    assert_eq!(result, Ok(7));
    assert!(start.elapsed() >= bound);
    assert_eq!(recovery.chaos_faults, 1);
    chaos::stop(target!(sync_hang));
}

async fn placeholder(_: ApiError) -> Result<u32, ApiError> {
    Ok(0)
}

#[fallback(fn = placeholder)]
async fn answered() -> Result<u32, ApiError> {
    Ok(8)
}

#[tokio::test(start_paused = true)]
async fn a_fallback_answers_around_an_injected_error() {
    chaos::register_error(target!(answered), || ApiError::Injected);
    chaos::inject(target!(answered), Fault::new(8).errors(1.0)).unwrap();
    let (result, recovery) = recovery::scope(answered()).await;
    assert_eq!(result, Ok(0));
    assert!(recovery.fallback_used());
    chaos::stop(target!(answered));
}

#[derive(Debug, PartialEq)]
struct OtherError;

#[retry(max = 2, delay = "1ms")]
fn other_error_type() -> Result<u32, OtherError> {
    Ok(9)
}

#[test]
fn errors_are_refused_without_a_maker_and_skipped_for_another_error_type() {
    let refused = chaos::inject(target!(other_error_type), Fault::new(9).errors(1.0));
    assert_eq!(
        refused,
        Err(ChaosError::NoErrorMaker {
            target: target!(other_error_type).to_owned()
        })
    );
    assert_eq!(other_error_type(), Ok(9), "nothing was injected");

    // A maker of another type than the function's: no error injected.
    chaos::register_error(target!(other_error_type), || ApiError::Injected);
    chaos::inject(target!(other_error_type), Fault::new(9).errors(1.0)).unwrap();
    assert_eq!(other_error_type(), Ok(9));
    chaos::stop(target!(other_error_type));
}

#[test]
fn shares_are_checked() {
    let out = chaos::inject("chaos::shares", Fault::new(0).hangs(1.5));
    assert!(matches!(
        out,
        Err(ChaosError::ShareOutOfRange { share: "hangs", .. })
    ));
    let nan = chaos::inject("chaos::shares", Fault::new(0).hangs(f64::NAN));
    assert!(nan.is_err());
    chaos::register_error("chaos::shares", || ApiError::Injected);
    let sum = chaos::inject("chaos::shares", Fault::new(0).hangs(0.6).errors(0.6));
    assert!(matches!(sum, Err(ChaosError::SharesAboveOne { .. })));
    assert!(!chaos::stop("chaos::shares"), "nothing was injected");
}

#[timeout(after = "1s")]
#[breaker(name = "chaos-hung-breaker", consecutive = 2)]
async fn behind_a_hung_breaker() -> Result<u32, ApiError> {
    Ok(10)
}

#[tokio::test(start_paused = true)]
async fn a_hang_injected_at_a_breaker_is_cut_off_and_counted_as_a_failure() {
    chaos::inject("chaos-hung-breaker", Fault::new(10).hangs(1.0)).unwrap();
    let start = Instant::now();
    for _ in 0..2 {
        assert_eq!(behind_a_hung_breaker().await, Err(ApiError::TimedOut));
    }
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let breaker = resilience_runtime::breaker::registry()
        .get("chaos-hung-breaker")
        .unwrap();
    assert_eq!(breaker.state(), State::Open, "two hangs in a row");
    chaos::stop("chaos-hung-breaker");
    assert_eq!(behind_a_hung_breaker().await, Err(ApiError::Open));
}
