//! `#[retry]`: wait sequences, attempt counts, the predicate, jitter, events.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::retry;
use tokio::time::Instant;

use crate::events::Recorder;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Unavailable(u32),
    NotFound,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unavailable(attempt) => write!(f, "503 on attempt {attempt}"),
            ApiError::NotFound => write!(f, "404"),
        }
    }
}

fn is_transient(error: &ApiError) -> bool {
    matches!(error, ApiError::Unavailable(_))
}

/// Records when each attempt started, relative to the first, on the one clock.
struct Timeline {
    start: Mutex<Option<Instant>>,
    offsets: Mutex<Vec<Duration>>,
}

impl Timeline {
    const fn new() -> Self {
        Timeline {
            start: Mutex::new(None),
            offsets: Mutex::new(Vec::new()),
        }
    }

    /// Marks an attempt; returns its number, from 1.
    fn mark(&self) -> u32 {
        let now = Instant::now();
        let start = *self.start.lock().unwrap().get_or_insert(now);
        let mut offsets = self.offsets.lock().unwrap();
        offsets.push(now - start);
        offsets.len() as u32
    }

    fn offsets_ms(&self) -> Vec<u128> {
        self.offsets
            .lock()
            .unwrap()
            .iter()
            .map(Duration::as_millis)
            .collect()
    }
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_waits_half_a_second_then_doubles() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(max = 5, jitter = "none")]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    assert_eq!(always_down().await, Err(ApiError::Unavailable(5)));
    assert_eq!(TIMELINE.offsets_ms(), [0, 500, 1500, 3500, 7500]);
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_honours_factor_and_max_delay() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(
        max = 5,
        delay = "100ms",
        factor = 3,
        max_delay = "1s",
        jitter = "none"
    )]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    let _ = always_down().await;
    // Waits of 100, 300, 900, then 2700 capped to 1000.
    assert_eq!(TIMELINE.offsets_ms(), [0, 100, 400, 1300, 2300]);
}

#[tokio::test(start_paused = true)]
async fn fixed_backoff_waits_the_same_each_time() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(max = 4, backoff = "fixed", delay = 0.7, jitter = "none")]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    let _ = always_down().await;
    assert_eq!(TIMELINE.offsets_ms(), [0, 700, 1400, 2100]);
}

#[tokio::test(start_paused = true)]
async fn no_backoff_retries_at_once() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(max = 3, backoff = "none")]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    let _ = always_down().await;
    assert_eq!(TIMELINE.offsets_ms(), [0, 0, 0]);
}

#[tokio::test(start_paused = true)]
async fn stops_at_the_first_success_and_returns_it() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, delay = "10ms")]
    async fn flaky() -> Result<u32, ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call < 3 {
            Err(ApiError::Unavailable(call))
        } else {
            Ok(call)
        }
    }

    assert_eq!(flaky().await, Ok(3));
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn the_default_is_three_attempts_and_the_last_error_is_returned_unchanged() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(
            CALLS.fetch_add(1, Ordering::SeqCst) + 1,
        ))
    }

    assert_eq!(always_down().await, Err(ApiError::Unavailable(3)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn max_one_calls_once() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 1)]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(
            CALLS.fetch_add(1, Ordering::SeqCst) + 1,
        ))
    }

    let _ = always_down().await;
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_predicate_stops_retrying_errors_it_rejects() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, delay = "10ms", when = is_transient)]
    async fn eventually_missing() -> Result<(), ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call < 3 {
            Err(ApiError::Unavailable(call))
        } else {
            Err(ApiError::NotFound)
        }
    }

    let started = Instant::now();
    assert_eq!(eventually_missing().await, Err(ApiError::NotFound));
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        3,
        "two 503s retried, the 404 returned at once"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_rejected_first_error_is_not_retried_at_all() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, when = is_transient)]
    async fn missing() -> Result<(), ApiError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(ApiError::NotFound)
    }

    assert_eq!(missing().await, Err(ApiError::NotFound));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

/// Waits between attempts of a function that always fails, over many calls.
async fn observed_waits(
    call: impl AsyncFn() -> Result<(), ApiError>,
    timeline: &Timeline,
) -> Vec<u128> {
    for _ in 0..200 {
        let _ = call().await;
        *timeline.start.lock().unwrap() = None;
    }
    let offsets = timeline.offsets_ms();
    offsets.chunks(2).map(|pair| pair[1] - pair[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn full_jitter_waits_between_zero_and_the_base_delay() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(max = 2, delay = 1, jitter = "full")]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    let waits = observed_waits(always_down, &TIMELINE).await;
    assert!(waits.iter().all(|w| *w <= 1000), "{waits:?}");
    assert!(
        waits.iter().any(|w| *w < 500) && waits.iter().any(|w| *w > 500),
        "spread over the range"
    );
}

#[tokio::test(start_paused = true)]
async fn equal_jitter_is_the_default_and_keeps_half_the_delay() {
    static TIMELINE: Timeline = Timeline::new();
    #[retry(max = 2, delay = 1)]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(TIMELINE.mark()))
    }

    let waits = observed_waits(always_down, &TIMELINE).await;
    assert!(waits.iter().all(|w| (500..=1000).contains(w)), "{waits:?}");
    assert!(
        waits.iter().any(|w| *w < 750) && waits.iter().any(|w| *w > 750),
        "spread over the range"
    );
}

#[test]
fn sync_functions_retry_with_real_short_waits() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "fixed", delay = "2ms")]
    fn flaky() -> Result<u32, ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call < 3 {
            Err(ApiError::Unavailable(call))
        } else {
            Ok(call)
        }
    }

    let started = std::time::Instant::now();
    assert_eq!(flaky(), Ok(3));
    assert!(
        started.elapsed() >= Duration::from_millis(2),
        "waited between attempts"
    );
}

#[tokio::test(start_paused = true)]
async fn each_retry_and_the_outcome_are_events_with_the_shared_fields() {
    #[retry(max = 3, delay = "100ms", jitter = "none")]
    async fn always_down() -> Result<(), ApiError> {
        Err(ApiError::Unavailable(7))
    }

    let (recorder, _guard) = Recorder::install();
    let _ = always_down().await;
    let events = recorder.events();
    assert_eq!(events.len(), 3, "two retries and one outcome: {events:?}");

    let first = &events[0];
    assert_eq!(first.level, tracing::Level::WARN);
    assert!(
        first.field("function").unwrap().ends_with("::always_down"),
        "{first:?}"
    );
    assert_eq!(first.field("attempt"), Some("1"));
    assert_eq!(first.field("max_attempts"), Some("3"));
    assert_eq!(first.field("error"), Some("503 on attempt 7"));
    assert_eq!(first.field("delay_ms"), Some("100"));
    assert_eq!(first.field("elapsed_ms"), Some("0"));
    assert_eq!(events[1].field("delay_ms"), Some("200"));
    assert_eq!(events[1].field("elapsed_ms"), Some("100"));

    let outcome = &events[2];
    assert_eq!(outcome.level, tracing::Level::ERROR);
    assert_eq!(outcome.field("outcome"), Some("exhausted"));
    assert_eq!(outcome.field("attempt"), Some("3"));
    assert_eq!(outcome.field("elapsed_ms"), Some("300"));
}

#[tokio::test(start_paused = true)]
async fn a_recovery_is_one_outcome_event_and_a_healthy_call_emits_none() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(delay = "10ms")]
    async fn flaky() -> Result<(), ApiError> {
        match CALLS.fetch_add(1, Ordering::SeqCst) {
            1 => Err(ApiError::Unavailable(2)),
            _ => Ok(()),
        }
    }

    let (recorder, _guard) = Recorder::install();
    flaky().await.unwrap();
    assert!(
        recorder.events().is_empty(),
        "the healthy first call is silent"
    );
    flaky().await.unwrap();
    let events = recorder.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1].field("outcome"), Some("recovered"));
    assert_eq!(events[1].level, tracing::Level::INFO);
    assert_eq!(events[1].message(), "succeeded after retrying");
}

#[tokio::test(start_paused = true)]
async fn errors_without_display_are_described_by_debug() {
    #[derive(Debug)]
    struct Opaque {
        code: u16,
    }
    #[retry(max = 2, backoff = "none")]
    async fn fails() -> Result<(), Opaque> {
        Err(Opaque { code: 502 })
    }

    let (recorder, _guard) = Recorder::install();
    assert_eq!(fails().await.unwrap_err().code, 502);
    assert_eq!(
        recorder.events()[0].field("error"),
        Some("Opaque { code: 502 }")
    );
}

#[tokio::test(start_paused = true)]
async fn on_a_paused_runtime_a_sync_retry_still_sleeps_and_the_clock_stands_still() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 2, backoff = "fixed", delay = "5ms", jitter = "none")]
    fn flaky() -> Result<u32, ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call < 2 {
            Err(ApiError::Unavailable(call))
        } else {
            Ok(call)
        }
    }

    let paused = Instant::now();
    let real = std::time::Instant::now();
    assert_eq!(flaky(), Ok(2));
    assert!(
        real.elapsed() >= Duration::from_millis(5),
        "std::thread::sleep takes real time"
    );
    assert_eq!(
        paused.elapsed(),
        Duration::ZERO,
        "and the paused clock does not move meanwhile"
    );
}

/// A sync call runs its first attempt apart from the rest of the loop: the
/// events of the failures that follow still count from the call's start,
/// the first attempt's time included.
#[test]
fn a_sync_calls_events_count_the_time_of_its_first_attempt() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 2, backoff = "none")]
    fn slow_then_down() -> Result<(), ApiError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call == 1 {
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(ApiError::Unavailable(call))
    }

    let (recorder, _guard) = Recorder::install();
    assert_eq!(slow_then_down(), Err(ApiError::Unavailable(2)));
    let events = recorder.events();
    assert_eq!(events.len(), 2, "one retry and one outcome: {events:?}");
    let elapsed_ms = |event: &crate::events::Event| -> u64 {
        event.field("elapsed_ms").unwrap().parse().unwrap()
    };
    assert!(elapsed_ms(&events[0]) >= 5, "{events:?}");
    assert!(elapsed_ms(&events[1]) >= 5, "{events:?}");
    assert_eq!(events[1].field("outcome"), Some("exhausted"));
}

/// `when` and `delay_from` of a sync call see the first attempt's error.
#[test]
fn a_sync_calls_first_error_goes_through_when_and_delay_from() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    fn server_delay(_: &ApiError) -> Option<Duration> {
        Some(Duration::from_secs(60))
    }
    #[retry(max = 5, max_delay = 1, when = is_transient, delay_from = server_delay)]
    fn fetch(missing: bool) -> Result<(), ApiError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(if missing {
            ApiError::NotFound
        } else {
            ApiError::Unavailable(1)
        })
    }

    let (recorder, _guard) = Recorder::install();
    assert_eq!(fetch(true), Err(ApiError::NotFound));
    assert_eq!(fetch(false), Err(ApiError::Unavailable(1)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2, "neither was retried");
    let outcomes: Vec<_> = recorder
        .events()
        .iter()
        .map(|event| event.field("outcome").unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["not_retried", "server_delay_too_long"]);
}
