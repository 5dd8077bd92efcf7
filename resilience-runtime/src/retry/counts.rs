//! Retries made so far, by function: what [`retries`] lists and the status
//! page shows beside `retry_attempts_total`.

use std::collections::BTreeMap;

use parking_lot::Mutex;

/// Retries by function. A retry already waits out a backoff, so a lock
/// here costs nothing a caller would notice.
static RETRIES: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());

/// One retry of `function`.
pub(super) fn count(function: &'static str) {
    *RETRIES.lock().entry(function).or_default() += 1;
}

/// Retries made so far by one function, as [`retries`] lists them.
///
/// ```
/// use resilience_runtime::retry::{self, RetryCount};
///
/// let counted: Vec<RetryCount> = retry::retries();
/// assert!(counted.iter().all(|count| count.retries > 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "tower", derive(serde::Serialize))]
#[non_exhaustive]
pub struct RetryCount {
    /// The retried function, as events and metrics name it.
    pub function: &'static str,
    /// Attempts after the first, since the process started.
    pub retries: u64,
}

/// Every function that has retried, by name, with its retries so far (the
/// same count as `retry_attempts_total`, with or without the `metrics`
/// feature).
///
/// ```
/// use resilience_runtime::retry;
///
/// #[retry(max = 3, delay = 0)]
/// fn flaky(calls: &mut u32) -> Result<(), String> {
///     *calls += 1;
///     if *calls < 3 { Err("not yet".into()) } else { Ok(()) }
/// }
///
/// flaky(&mut 0).unwrap();
/// let counted = retry::retries();
/// let flaky = counted.iter().find(|count| count.function.ends_with("::flaky")).unwrap();
/// assert_eq!(flaky.retries, 2);
/// ```
pub fn retries() -> Vec<RetryCount> {
    RETRIES
        .lock()
        .iter()
        .map(|(function, retries)| RetryCount {
            function,
            retries: *retries,
        })
        .collect()
}
