//! `#[breaker]`: the circuit seen through decorated functions, on paused time.
//! Breakers are process-wide by name, so every test uses names of its own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::breaker::State;
use resilience_runtime::{CircuitOpen, breaker, retry};

#[derive(Debug, Clone, PartialEq)]
pub enum PayError {
    Down,
    Declined,
    Open {
        breaker: &'static str,
        retry_after: Duration,
    },
}

impl From<CircuitOpen> for PayError {
    fn from(open: CircuitOpen) -> Self {
        PayError::Open {
            breaker: open.name(),
            retry_after: open.retry_after(),
        }
    }
}

fn is_outage(error: &PayError) -> bool {
    *error == PayError::Down
}

static CHARGES: AtomicU32 = AtomicU32::new(0);

/// Fails while `down` is set.
#[breaker(
    name = "behaviour-payments",
    min_calls = 4,
    failure_rate = 0.5,
    window = 10,
    open_for = 30
)]
async fn charge(down: bool) -> Result<u32, PayError> {
    CHARGES.fetch_add(1, Ordering::SeqCst);
    if down { Err(PayError::Down) } else { Ok(1) }
}

#[tokio::test(start_paused = true)]
async fn opens_on_the_failure_rate_rejects_without_calling_then_probes_and_closes() {
    let breaker = breaker::registry().get("behaviour-payments");
    assert!(breaker.is_none(), "registered on first use, not before");

    // 2 of 4 failed: a rate equal to the threshold does not open.
    for down in [false, false, true, true] {
        let _ = charge(down).await;
    }
    let breaker = breaker::registry().get("behaviour-payments").unwrap();
    assert_eq!(breaker.state(), State::Closed);

    // 3 of 5 failed: above the threshold, open.
    assert_eq!(charge(true).await, Err(PayError::Down));
    assert_eq!(breaker.state(), State::Open);

    let before = CHARGES.load(Ordering::SeqCst);
    let rejected = charge(false).await;
    assert_eq!(
        rejected,
        Err(PayError::Open {
            breaker: "behaviour-payments",
            retry_after: Duration::from_secs(30)
        })
    );
    assert_eq!(
        CHARGES.load(Ordering::SeqCst),
        before,
        "an open breaker does not call the function"
    );

    tokio::time::advance(Duration::from_secs(30)).await;
    assert_eq!(charge(false).await, Ok(1), "the probe goes through");
    assert_eq!(
        breaker.state(),
        State::Closed,
        "one successful probe (the default) closes it"
    );
}

#[breaker(name = "behaviour-shared", min_calls = 2, failure_rate = 0.4)]
fn shared_one() -> Result<(), PayError> {
    Err(PayError::Down)
}

#[breaker(name = "behaviour-shared", min_calls = 2, failure_rate = 0.4)]
fn shared_two() -> Result<(), PayError> {
    Ok(())
}

#[test]
fn functions_of_one_name_share_one_state() {
    let _ = shared_one();
    let _ = shared_one();
    assert!(matches!(
        shared_two(),
        Err(PayError::Open {
            breaker: "behaviour-shared",
            ..
        })
    ));
    let breaker = breaker::registry().get("behaviour-shared").unwrap();
    breaker.reset();
    assert_eq!(shared_two(), Ok(()));
}

#[test]
fn errors_the_predicate_rejects_count_as_successes() {
    #[breaker(name = "behaviour-declines", min_calls = 3, when = is_outage)]
    fn decline() -> Result<(), PayError> {
        Err(PayError::Declined)
    }

    for _ in 0..10 {
        assert_eq!(decline(), Err(PayError::Declined));
    }
    let breaker = breaker::registry().get("behaviour-declines").unwrap();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.counts().failures, 0);
    assert_eq!(breaker.counts().successes, 10);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_gives_its_permit_back_and_counts_nothing() {
    #[breaker(name = "behaviour-cancel", min_calls = 1, open_for = 5)]
    async fn hangs(hang: bool) -> Result<(), PayError> {
        if hang {
            std::future::pending::<()>().await;
        }
        Ok(())
    }

    hangs(false).await.unwrap(); // registers the breaker with this function's config
    breaker::registry()
        .get("behaviour-cancel")
        .unwrap()
        .force_open();
    tokio::time::advance(Duration::from_secs(5)).await;
    for _ in 0..10_000 {
        // The probe starts, then its caller gives up on it.
        let probe = tokio::time::timeout(Duration::from_millis(1), hangs(true)).await;
        assert!(probe.is_err(), "timed out");
    }
    let breaker = breaker::registry().get("behaviour-cancel").unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(hangs(false).await, Ok(()), "the probe slot is free again");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_panicking_call_leaves_the_breaker_usable() {
    #[breaker(name = "behaviour-panic", min_calls = 1, open_for = 0)]
    fn explode(panic: bool) -> Result<(), PayError> {
        assert!(!panic, "boom");
        Ok(())
    }

    explode(false).unwrap(); // registers the breaker with this function's config
    breaker::registry()
        .get("behaviour-panic")
        .unwrap()
        .force_open();
    let result = std::panic::catch_unwind(|| explode(true));
    assert!(result.is_err());
    assert_eq!(explode(false), Ok(()), "the probe slot came back");
    assert_eq!(
        breaker::registry().get("behaviour-panic").unwrap().state(),
        State::Closed
    );
}

struct Gateway {
    calls: u32,
}

impl Gateway {
    #[breaker(name = "behaviour-methods", min_calls = 2)]
    async fn charge(&mut self) -> Result<u32, PayError> {
        self.calls += 1;
        Err(PayError::Down)
    }

    #[breaker(name = "behaviour-methods")]
    fn status(&self) -> Result<u32, PayError> {
        Ok(self.calls)
    }
}

#[tokio::test(start_paused = true)]
async fn methods_share_the_breaker_of_their_name() {
    let mut gateway = Gateway { calls: 0 };
    let _ = gateway.charge().await;
    let _ = gateway.charge().await;
    assert!(matches!(gateway.status(), Err(PayError::Open { .. })));
    assert_eq!(gateway.calls, 2);
}

#[tokio::test(start_paused = true)]
async fn outside_retry_one_call_with_its_retries_is_one_outcome_and_open_is_never_retried() {
    static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
    #[breaker(name = "behaviour-ordered", min_calls = 2, failure_rate = 0.5)]
    #[retry(max = 3, backoff = "none")]
    async fn fetch() -> Result<(), PayError> {
        ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        Err(PayError::Down)
    }

    let _ = fetch().await;
    let breaker = breaker::registry().get("behaviour-ordered").unwrap();
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 3);
    assert_eq!(
        breaker.counts().failures,
        1,
        "three attempts, one breaker outcome"
    );

    let _ = fetch().await;
    assert_eq!(breaker.state(), State::Open);
    assert!(matches!(fetch().await, Err(PayError::Open { .. })));
    assert_eq!(
        ATTEMPTS.load(Ordering::SeqCst),
        6,
        "the rejected call made no attempt"
    );
}

/// The same stack under a renamed path (`use resilience_runtime as res`,
/// or a dependency renamed in Cargo.toml): still seen as one stack, in the
/// written order — the breaker outside, one outcome per call.
#[tokio::test(start_paused = true)]
async fn a_renamed_path_keeps_the_written_order() {
    use resilience_runtime as res;
    static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
    #[res::breaker(name = "behaviour-renamed", min_calls = 2, failure_rate = 0.5, crate = res)]
    #[res::retry(max = 3, backoff = "none")]
    async fn fetch() -> Result<(), PayError> {
        ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        Err(PayError::Down)
    }

    let _ = fetch().await;
    let breaker = breaker::registry().get("behaviour-renamed").unwrap();
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 3);
    assert_eq!(
        breaker.counts().failures,
        1,
        "three attempts, one breaker outcome: the breaker is outside"
    );
}

#[tokio::test(start_paused = true)]
async fn inside_retry_each_attempt_is_an_outcome_and_rejections_are_retried() {
    // The order resilience4j users hit (its issue #2383): documented as the wrong one.
    static ATTEMPTS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "none")]
    #[breaker(name = "behaviour-misordered", min_calls = 2, failure_rate = 0.5)]
    async fn fetch() -> Result<(), PayError> {
        ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        Err(PayError::Down)
    }

    assert!(
        matches!(fetch().await, Err(PayError::Open { .. })),
        "the third attempt hit the open breaker"
    );
    assert_eq!(ATTEMPTS.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn an_io_result_function_gets_the_open_circuit_as_an_io_error() {
    #[breaker(name = "behaviour-io", min_calls = 1)]
    async fn read(fail: bool) -> std::io::Result<u32> {
        if fail {
            return Err(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        }
        Ok(7)
    }

    assert_eq!(read(false).await.unwrap(), 7);
    breaker::registry()
        .get("behaviour-io")
        .unwrap()
        .force_open();
    let error = read(false).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::Other);
    let open = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CircuitOpen>())
        .expect("the io::Error carries the CircuitOpen");
    assert_eq!(open.name(), "behaviour-io");
}
