//! `#[bulkhead]` through the attribute (issue 26), on paused time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use resilience_runtime::breaker::{State, registry};
use resilience_runtime::{BulkheadFull, CircuitOpen, breaker, bulkhead, fallback};
use tokio::sync::Semaphore;

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    Busy { bulkhead: &'static str },
    Open,
    Down,
}

impl From<BulkheadFull> for ApiError {
    fn from(full: BulkheadFull) -> Self {
        ApiError::Busy {
            bulkhead: full.bulkhead(),
        }
    }
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

/// Held until the test lets the calls go.
static GATE: Semaphore = Semaphore::const_new(0);

#[bulkhead(max_concurrent = 2)]
async fn search(query: u32) -> Result<u32, ApiError> {
    let _ = GATE.acquire().await.unwrap();
    Ok(query)
}

#[tokio::test(start_paused = true)]
async fn a_call_past_the_limit_is_turned_away_without_running() {
    let first = tokio::spawn(search(1));
    let second = tokio::spawn(search(2));
    tokio::task::yield_now().await;
    assert_eq!(
        search(3).await,
        Err(ApiError::Busy {
            bulkhead: "behaviour::bulkhead::search"
        })
    );
    GATE.add_permits(2);
    assert_eq!(first.await.unwrap(), Ok(1));
    assert_eq!(second.await.unwrap(), Ok(2));
    GATE.add_permits(1);
    assert_eq!(search(4).await, Ok(4), "the slots came back");
}

static SHARED_GATE: Semaphore = Semaphore::const_new(0);

#[bulkhead(max_concurrent = 1, max_wait = "100ms", name = "warehouse")]
async fn reserve(sku: u32) -> Result<u32, ApiError> {
    let _ = SHARED_GATE.acquire().await.unwrap();
    Ok(sku)
}

#[bulkhead(max_concurrent = 1, max_wait = "100ms", name = "warehouse")]
async fn release(sku: u32) -> Result<u32, ApiError> {
    Ok(sku)
}

/// Two functions naming one bulkhead share its slots; a call waits
/// `max_wait` for one.
#[tokio::test(start_paused = true)]
async fn functions_naming_one_bulkhead_share_its_slots() {
    let holding = tokio::spawn(reserve(1));
    tokio::task::yield_now().await;
    let started = tokio::time::Instant::now();
    assert_eq!(
        release(2).await,
        Err(ApiError::Busy {
            bulkhead: "warehouse"
        })
    );
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    SHARED_GATE.add_permits(1);
    assert_eq!(holding.await.unwrap(), Ok(1));
    assert_eq!(release(2).await, Ok(2));
}

static STACK_GATE: Semaphore = Semaphore::const_new(0);
static STACK_CALLS: AtomicU32 = AtomicU32::new(0);

async fn busy_answer(_: u32, error: ApiError) -> Result<u32, ApiError> {
    match error {
        ApiError::Busy { .. } => Ok(0),
        other => Err(other),
    }
}

/// The documented stack: the fallback answers a call the bulkhead turned
/// away, and the breaker below never counts it as the dependency failing.
#[fallback(fn = busy_answer)]
#[bulkhead(max_concurrent = 1)]
#[breaker(name = "bulkhead-stack", min_calls = 2, failure_rate = 0.1)]
async fn quote(item: u32) -> Result<u32, ApiError> {
    STACK_CALLS.fetch_add(1, SeqCst);
    let _ = STACK_GATE.acquire().await.unwrap();
    Ok(item)
}

#[tokio::test(start_paused = true)]
async fn a_full_bulkhead_is_answered_by_the_fallback_and_not_counted_by_the_breaker() {
    let running = tokio::spawn(quote(7));
    tokio::task::yield_now().await;
    for _ in 0..10 {
        assert_eq!(quote(8).await, Ok(0), "the fallback's answer");
    }
    assert_eq!(STACK_CALLS.load(SeqCst), 1, "turned away calls never ran");
    let breaker = registry().get("bulkhead-stack").unwrap();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        breaker.counts().calls(),
        0,
        "nothing ended through the breaker yet"
    );
    STACK_GATE.add_permits(1);
    assert_eq!(running.await.unwrap(), Ok(7));
}

#[bulkhead(max_concurrent = 1, max_wait = "2s")]
fn export(rows: u32) -> Result<u32, ApiError> {
    std::thread::sleep(Duration::from_millis(5));
    Ok(rows)
}

/// A sync function: a thread waits for the slot another thread gives back.
#[test]
fn sync_calls_from_threads_take_turns() {
    let done = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|rows| {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                assert_eq!(export(rows), Ok(rows));
                done.fetch_add(1, SeqCst);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(done.load(SeqCst), 4);
    let _ = ApiError::Down;
}
