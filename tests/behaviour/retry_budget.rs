//! `#[retry]`'s time budget (`max_elapsed`), the server's word on the wait
//! (`delay_from`), retrying a value (`when_ok`), and `attempt::current()`,
//! on paused time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use resilience_runtime::{attempt, retry};
use tokio::time::Instant;

use crate::events::Recorder;

#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// 429 or 503 with the server's `Retry-After`, in seconds.
    Busy(Option<u64>),
}

impl From<resilience_runtime::TimedOut> for HttpError {
    fn from(_: resilience_runtime::TimedOut) -> Self {
        HttpError::Busy(None)
    }
}

fn retry_after(error: &HttpError) -> Option<Duration> {
    match error {
        HttpError::Busy(seconds) => seconds.map(Duration::from_secs),
    }
}

#[tokio::test(start_paused = true)]
async fn no_wait_runs_past_max_elapsed() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(
        max = 10,
        backoff = "fixed",
        delay = 1,
        jitter = "none",
        max_elapsed = 3.5
    )]
    async fn down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(None))
    }

    let (recorder, _guard) = Recorder::install();
    let started = Instant::now();
    assert_eq!(down().await, Err(HttpError::Busy(None)));
    // Attempts at 0, 1, 2 and 3 s; a fourth wait would end at 4 s > 3.5 s.
    assert_eq!(CALLS.load(Ordering::SeqCst), 4);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let last = recorder.events().pop().unwrap();
    assert_eq!(last.field("outcome"), Some("budget_exhausted"));
}

/// A sync call's budget counts from the call's start, its first attempt
/// included (real time: the body sleeps 5 ms, so a 5 ms wait would end
/// past 8 ms however slow the machine).
#[test]
fn a_sync_calls_budget_counts_its_first_attempt() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(
        max = 5,
        backoff = "fixed",
        delay = "5ms",
        jitter = "none",
        max_elapsed = "8ms"
    )]
    fn slow_and_down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        Err(HttpError::Busy(None))
    }

    assert_eq!(slow_and_down(), Err(HttpError::Busy(None)));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn max_still_applies_within_the_budget() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 2, backoff = "none", max_elapsed = 60)]
    async fn down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(None))
    }

    assert!(down().await.is_err());
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_servers_delay_replaces_the_wait_and_the_policy_sequence_advances() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "exp", delay = 0.5, jitter = "none", delay_from = retry_after)]
    async fn busy() -> Result<u32, HttpError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        match call {
            1 => Err(HttpError::Busy(Some(7))),
            2 => Err(HttpError::Busy(None)),
            _ => Ok(call),
        }
    }

    let (recorder, _guard) = Recorder::install();
    let started = Instant::now();
    assert_eq!(busy().await, Ok(3));
    // 7 s as the server said, then the policy's second wait: 1 s.
    assert_eq!(started.elapsed(), Duration::from_secs(8));
    let sources: Vec<_> = recorder
        .events()
        .iter()
        .filter_map(|event| event.field("delay_source").map(str::to_owned))
        .collect();
    assert_eq!(sources, ["server", "policy"]);
}

#[tokio::test(start_paused = true)]
async fn a_server_delay_longer_than_max_delay_stops_at_once() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, max_delay = 5, jitter = "none", delay_from = retry_after)]
    async fn busy() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(Some(7)))
    }

    let (recorder, _guard) = Recorder::install();
    let started = Instant::now();
    assert_eq!(busy().await, Err(HttpError::Busy(Some(7))));
    assert_eq!(CALLS.load(Ordering::SeqCst), 1, "never clamped: no retry");
    assert_eq!(started.elapsed(), Duration::ZERO);
    let last = recorder.events().pop().unwrap();
    assert_eq!(last.field("outcome"), Some("server_delay_too_long"));
}

#[tokio::test(start_paused = true)]
async fn a_server_delay_past_the_budget_stops_at_once() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, jitter = "none", max_elapsed = 10, delay_from = retry_after)]
    async fn busy() -> Result<(), HttpError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Err(HttpError::Busy(Some(if call == 1 { 6 } else { 5 })))
    }

    let started = Instant::now();
    assert!(busy().await.is_err());
    // Waited 6 s; 5 s more would end at 11 s, past the 10 s budget.
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}

#[derive(Debug, Clone, PartialEq)]
enum Job {
    Pending,
    Done(u32),
}

fn is_pending(job: &Job) -> bool {
    *job == Job::Pending
}

#[tokio::test(start_paused = true)]
async fn when_ok_retries_a_value_until_it_passes() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 5, backoff = "fixed", delay = 2, jitter = "none", when_ok = is_pending)]
    async fn poll_job() -> Result<Job, HttpError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(if call < 3 {
            Job::Pending
        } else {
            Job::Done(call)
        })
    }

    let started = Instant::now();
    assert_eq!(poll_job().await, Ok(Job::Done(3)));
    assert_eq!(started.elapsed(), Duration::from_secs(4));
}

/// The predicate judges each value once, the first one included.
#[test]
fn when_ok_is_asked_once_per_value_of_a_sync_call() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    static ASKED: AtomicU32 = AtomicU32::new(0);
    fn counted_pending(job: &Job) -> bool {
        ASKED.fetch_add(1, Ordering::SeqCst);
        is_pending(job)
    }
    #[retry(max = 3, backoff = "none", when_ok = counted_pending)]
    fn poll_job(pending: u32) -> Result<Job, HttpError> {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(if call <= pending {
            Job::Pending
        } else {
            Job::Done(call)
        })
    }

    assert_eq!(poll_job(0), Ok(Job::Done(1)));
    assert_eq!(ASKED.load(Ordering::SeqCst), 1, "a value passed at once");
    CALLS.store(0, Ordering::SeqCst);
    assert_eq!(poll_job(1), Ok(Job::Done(2)));
    assert_eq!(ASKED.load(Ordering::SeqCst), 3, "two more values");
}

#[test]
fn when_ok_returns_the_last_value_when_attempts_run_out() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 3, backoff = "none", when_ok = is_pending)]
    fn poll_job() -> Result<Job, HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Ok(Job::Pending)
    }

    assert_eq!(poll_job(), Ok(Job::Pending));
    assert_eq!(CALLS.load(Ordering::SeqCst), 3);
}

// ------------------------------------------------------------ attempt::current

#[tokio::test(start_paused = true)]
async fn one_idempotency_key_for_every_attempt_of_a_call_and_another_per_call() {
    static SEEN: std::sync::Mutex<Vec<(u32, u32, String)>> = std::sync::Mutex::new(Vec::new());
    #[retry(max = 3, backoff = "fixed", delay = 1, jitter = "none")]
    async fn post(fail_until: u32) -> Result<(), HttpError> {
        let attempt = attempt::current().expect("inside a retried body");
        // Across an await: the attempt stays with this call.
        tokio::time::sleep(Duration::from_millis(10)).await;
        let again = attempt::current().unwrap();
        assert_eq!(again, attempt);
        let key = attempt.idempotency_key().to_owned();
        SEEN.lock()
            .unwrap()
            .push((attempt.number(), attempt.max(), key));
        if attempt.number() < fail_until {
            Err(HttpError::Busy(None))
        } else {
            Ok(())
        }
    }

    post(3).await.unwrap();
    post(1).await.unwrap();
    let seen = SEEN.lock().unwrap().clone();
    let numbers: Vec<_> = seen.iter().map(|(n, max, _)| (*n, *max)).collect();
    assert_eq!(numbers, [(1, 3), (2, 3), (3, 3), (1, 3)]);
    assert_eq!(seen[0].2, seen[1].2);
    assert_eq!(seen[1].2, seen[2].2);
    assert_ne!(seen[2].2, seen[3].2, "another call, another key");
    assert!(attempt::current().is_none(), "outside a retried body");
}

/// A sync call's first attempt is attempt 1 of `max`, and the key it made
/// is the one the retries see.
#[test]
fn a_sync_calls_first_attempt_and_its_key_carry_into_the_retries() {
    static SEEN: std::sync::Mutex<Vec<(u32, u32, bool, String)>> =
        std::sync::Mutex::new(Vec::new());
    #[retry(max = 4, backoff = "none")]
    fn post(fail_until: u32) -> Result<(), HttpError> {
        let attempt = attempt::current().expect("inside a retried body");
        SEEN.lock().unwrap().push((
            attempt.number(),
            attempt.max(),
            attempt.is_retry(),
            attempt.idempotency_key().to_owned(),
        ));
        if attempt.number() < fail_until {
            Err(HttpError::Busy(None))
        } else {
            Ok(())
        }
    }

    post(1).unwrap();
    post(2).unwrap();
    let seen = SEEN.lock().unwrap().clone();
    let numbers: Vec<_> = seen
        .iter()
        .map(|(n, max, retry, _)| (*n, *max, *retry))
        .collect();
    assert_eq!(numbers, [(1, 4, false), (1, 4, false), (2, 4, true)]);
    assert_ne!(seen[0].3, seen[1].3, "another call, another key");
    assert_eq!(seen[1].3, seen[2].3, "the first attempt's key, kept");
    assert!(attempt::current().is_none(), "outside a retried body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_never_see_each_others_attempts() {
    #[retry(max = 3, backoff = "none")]
    async fn call(id: u32) -> Result<(u32, Vec<String>), HttpError> {
        let mut keys = Vec::new();
        for _ in 0..20 {
            keys.push(attempt::current().unwrap().idempotency_key().to_owned());
            tokio::task::yield_now().await; // let the other tasks in, on either thread
        }
        Ok((id, keys))
    }

    let calls: Vec<_> = (0..50).map(|id| tokio::spawn(call(id))).collect();
    let mut all_keys = std::collections::HashSet::new();
    for (id, call) in calls.into_iter().enumerate() {
        let (returned, keys) = call.await.unwrap().unwrap();
        assert_eq!(returned as usize, id);
        assert!(
            keys.iter().all(|key| *key == keys[0]),
            "one key within a call"
        );
        assert!(all_keys.insert(keys[0].clone()), "a key of its own");
    }
}

#[test]
fn a_nested_retried_call_sees_its_own_attempt() {
    #[retry(max = 5, backoff = "none")]
    fn inner() -> Result<(u32, String), HttpError> {
        let attempt = attempt::current().unwrap();
        Ok((attempt.max(), attempt.idempotency_key().to_owned()))
    }

    #[retry(max = 2, backoff = "none")]
    fn outer() -> Result<(), HttpError> {
        let before = attempt::current().unwrap();
        let (inner_max, inner_key) = inner()?;
        assert_eq!(inner_max, 5);
        assert_ne!(inner_key, before.idempotency_key());
        assert_eq!(attempt::current().unwrap(), before, "the outer one again");
        Ok(())
    }

    outer().unwrap();
}

/// Under `#[timeout]` (each attempt bounded), the body still sees its
/// attempt, and a timed-out attempt is retried with the same key.
#[tokio::test(start_paused = true)]
async fn the_attempt_is_seen_through_a_timeout_below_retry() {
    use resilience_runtime::{TimedOut, timeout};

    #[derive(Debug, PartialEq)]
    enum CallError {
        TimedOut,
    }
    impl From<TimedOut> for CallError {
        fn from(_: TimedOut) -> Self {
            CallError::TimedOut
        }
    }
    static KEYS: std::sync::Mutex<Vec<(u32, String)>> = std::sync::Mutex::new(Vec::new());

    #[retry(max = 3, backoff = "none")]
    #[timeout(after = "1s")]
    async fn slow_then_quick() -> Result<u32, CallError> {
        let attempt = attempt::current().expect("inside the retried body");
        let number = attempt.number();
        KEYS.lock()
            .unwrap()
            .push((number, attempt.idempotency_key().to_owned()));
        if number == 1 {
            tokio::time::sleep(Duration::from_secs(5)).await; // cut off at 1 s
        }
        Ok(number)
    }

    let started = Instant::now();
    assert_eq!(slow_then_quick().await, Ok(2));
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    let keys = KEYS.lock().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].1, keys[1].1, "one key for both attempts");
}

/// Retries that do not wait still stop once the budget is spent: no
/// attempt starts past `max_elapsed` (with `backoff = "none"`, a zero
/// `Retry-After`, or full jitter drawing 0 alike).
#[tokio::test(start_paused = true)]
async fn retries_without_a_wait_stop_once_the_budget_is_spent() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 10, backoff = "none", max_elapsed = 3)]
    async fn slow_and_down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        Err(HttpError::Busy(None))
    }

    let (recorder, _guard) = Recorder::install();
    let started = Instant::now();
    assert_eq!(slow_and_down().await, Err(HttpError::Busy(None)));
    // The first attempt runs 0–2 s, the second starts at 2 s (< 3 s) and
    // ends at 4 s: the budget is spent, so no third one starts.
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    let last = recorder.events().pop().unwrap();
    assert_eq!(last.field("outcome"), Some("budget_exhausted"));
}

/// The same with the server's word: `Retry-After: 0` is a wait of zero,
/// and it too may not start an attempt past the budget.
#[tokio::test(start_paused = true)]
async fn a_zero_server_delay_past_the_budget_stops() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(max = 10, delay_from = retry_after, max_elapsed = 3)]
    async fn slow_and_busy() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(2)).await;
        Err(HttpError::Busy(Some(0)))
    }

    assert_eq!(slow_and_busy().await, Err(HttpError::Busy(Some(0))));
    assert_eq!(CALLS.load(Ordering::SeqCst), 2);
}

/// With `max_elapsed` and no `max`, the budget alone decides, as tenacity's
/// `stop_after_delay` does. This is what `resilience-migrate` prints for
/// `stop=stop_after_delay(10), wait=wait_fixed(1)`; tenacity attempts at
/// 0, 1, …, 10 s and stops after the attempt at 10 s (its elapsed time has
/// reached the limit): 11 attempts.
#[tokio::test(start_paused = true)]
async fn a_budget_without_max_alone_decides_as_tenacity_does() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(backoff = "fixed", delay = 1, jitter = "none", max_elapsed = 10)]
    async fn down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(None))
    }

    // Tenacity's rule, written out: attempt, then stop once the time since
    // the start is at least the limit, else wait 1 s.
    let tenacity_attempts = {
        let (mut elapsed, mut attempts) = (0u32, 0u32);
        loop {
            attempts += 1;
            if elapsed >= 10 {
                break attempts;
            }
            elapsed += 1;
        }
    };
    let started = Instant::now();
    assert!(down().await.is_err());
    assert_eq!(CALLS.load(Ordering::SeqCst), tenacity_attempts);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

/// Testing mode, scoped to this thread: the waits are skipped but count
/// toward the budget, so the test sees production's attempt count (4:
/// attempts at 0, 1, 2 and 3 s of a 3.5 s budget), in no real time. Other
/// tests of this binary, which check real waits, run meanwhile unaffected.
#[test]
fn testing_mode_skips_the_waits_but_keeps_productions_attempt_count() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(
        max = 10,
        backoff = "fixed",
        delay = 1,
        jitter = "none",
        max_elapsed = 3.5
    )]
    fn down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(None))
    }

    let started = std::time::Instant::now();
    {
        let _testing = resilience_runtime::testing::enter();
        assert!(resilience_runtime::testing::is_testing());
        assert!(down().is_err());
    }
    assert!(started.elapsed() < Duration::from_secs(1), "no real wait");
    assert_eq!(CALLS.load(Ordering::SeqCst), 4, "production's count");
    assert!(
        !resilience_runtime::testing::is_testing(),
        "off again when the guard is dropped"
    );
}

/// The same for a task: testing mode in each poll of the future, whichever
/// thread polls it, on a runtime whose clock is not paused.
#[test]
fn a_scoped_future_skips_its_waits_and_keeps_productions_attempt_count() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    #[retry(
        max = 10,
        backoff = "fixed",
        delay = 1,
        jitter = "none",
        max_elapsed = 3.5
    )]
    async fn down() -> Result<(), HttpError> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        Err(HttpError::Busy(None))
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = runtime.block_on(async {
        tokio::spawn(resilience_runtime::testing::scope(down()))
            .await
            .unwrap()
    });
    assert!(outcome.is_err());
    assert!(started.elapsed() < Duration::from_secs(1), "no real wait");
    assert_eq!(CALLS.load(Ordering::SeqCst), 4, "production's count");
}

/// What the body saw of one attempt: its number, its limit, its key.
type Seen = std::sync::Mutex<Vec<(u32, u32, String)>>;

fn record(seen: &Seen) -> u32 {
    let attempt = attempt::current().expect("inside a retried body");
    seen.lock().unwrap().push((
        attempt.number(),
        attempt.max(),
        attempt.idempotency_key().to_owned(),
    ));
    attempt.number()
}

/// The numbers and limits seen, and how many distinct keys.
fn numbers_and_keys(seen: &Seen) -> (Vec<(u32, u32)>, usize) {
    let seen = seen.lock().unwrap();
    let numbers = seen.iter().map(|(n, max, _)| (*n, *max)).collect();
    let keys: std::collections::HashSet<_> = seen.iter().map(|(_, _, key)| key.clone()).collect();
    (numbers, keys.len())
}

/// `#[stale_cache]` retries its refresh (`retries = 2`: 3 passes) around
/// the `#[retry(max = 2)]` below it: one logical call, 6 runs of the body,
/// one idempotency key; the numbers count across both loops.
#[tokio::test(start_paused = true)]
async fn one_key_for_a_call_whose_cache_retries_around_its_retry() {
    static SEEN: Seen = Seen::new(Vec::new());
    #[resilience_runtime::stale_cache(maxage = 10, retries = 2)]
    #[retry(max = 2, backoff = "none")]
    async fn post(id: u32) -> Result<u32, HttpError> {
        record(&SEEN);
        Err(HttpError::Busy(Some(u64::from(id))))
    }

    assert!(post(1).await.is_err());
    let (numbers, keys) = numbers_and_keys(&SEEN);
    assert_eq!(numbers, [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]);
    assert_eq!(keys, 1, "one logical call, one key");

    // Another call, another key.
    assert!(post(2).await.is_err());
    let (_, keys) = numbers_and_keys(&SEEN);
    assert_eq!(keys, 2);
}

/// The same in sync code.
#[test]
fn one_key_for_a_sync_call_whose_cache_retries_around_its_retry() {
    static SEEN: Seen = Seen::new(Vec::new());
    #[resilience_runtime::stale_cache(maxage = 10, retries = 2)]
    #[retry(max = 2, backoff = "none")]
    fn post(id: u32) -> Result<u32, HttpError> {
        record(&SEEN);
        Err(HttpError::Busy(Some(u64::from(id))))
    }

    let _no_waits = resilience_runtime::testing::enter();
    assert!(post(1).is_err());
    let (numbers, keys) = numbers_and_keys(&SEEN);
    assert_eq!(numbers, [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6), (6, 6)]);
    assert_eq!(keys, 1, "one logical call, one key");
}

/// `#[retry] #[timeout] #[retry]`: the inner loop is cut off by the
/// timeout halfway, and the outer loop's next pass still carries the key
/// the cut-off attempts sent (the server may have received them).
#[tokio::test(start_paused = true)]
async fn one_key_across_a_timeout_between_two_retry_loops() {
    static SEEN: Seen = Seen::new(Vec::new());
    #[retry(max = 2, backoff = "none")]
    #[resilience_runtime::timeout(after = 5)]
    #[retry(max = 4, backoff = "fixed", delay = 2, jitter = "none")]
    async fn post() -> Result<u32, HttpError> {
        let number = record(&SEEN);
        if number < 4 {
            Err(HttpError::Busy(None))
        } else {
            Ok(number)
        }
    }

    // Pass 1: runs at 0, 2 and 4 s fail (1–3); the timeout fires at 5 s,
    // during the wait. Pass 2: its first run, the call's 4th, succeeds.
    assert_eq!(post().await, Ok(4));
    let (numbers, keys) = numbers_and_keys(&SEEN);
    assert_eq!(numbers, [(1, 8), (2, 8), (3, 8), (4, 8)]);
    assert_eq!(keys, 1, "one logical call, one key");
}
