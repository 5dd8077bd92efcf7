//! A chaos injection started while a call runs meets the calls that start
//! after it, not the later attempts of that call: each call reads whether
//! anything is injected once, at its start (one relaxed load when idle).
//! A binary of its own: injections are process-wide, and another test's
//! injection would arm the calls of this one.

use std::sync::atomic::{AtomicU32, Ordering};

use resilience_runtime::chaos::{self, Fault};
use resilience_runtime::{recovery, retry};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Flaky,
    Injected,
}

const TARGET: &str = concat!(module_path!(), "::flaky_then_injected");

static BODIES: AtomicU32 = AtomicU32::new(0);

/// Its first body fails and, halfway through the call, starts a rehearsal
/// into this very function.
#[retry(max = 3, delay = "10ms")]
async fn flaky_then_injected() -> Result<u32, ApiError> {
    if BODIES.fetch_add(1, Ordering::SeqCst) == 0 {
        chaos::inject(TARGET, Fault::new(1).errors(1.0)).unwrap();
        return Err(ApiError::Flaky);
    }
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn an_injection_started_during_a_call_meets_the_next_call() {
    chaos::register_error(TARGET, || ApiError::Injected);
    assert!(chaos::injections().is_empty(), "idle when the call starts");

    let (result, recovery) = recovery::scope(flaky_then_injected()).await;
    assert_eq!(result, Ok(7), "the retry ran the body, not the injection");
    assert_eq!((recovery.retries, recovery.chaos_faults), (1, 0));

    let (result, recovery) = recovery::scope(flaky_then_injected()).await;
    assert_eq!(result, Err(ApiError::Injected), "the next call meets it");
    assert_eq!(recovery.chaos_faults, 3);
    assert_eq!(BODIES.load(Ordering::SeqCst), 2);
    assert!(chaos::stop(TARGET));
}
