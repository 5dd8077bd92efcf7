//! Recovery info per request: what the attributes did while a request was
//! served — retries, fallbacks, stale values, breaker rejections — so the
//! application can tell its caller, log it, or answer differently.
//!
//! Run the request's work inside [`scope`] (async) or [`scope_blocking`]
//! (sync) and read the [`Recovery`] it returns, or call
//! [`Recovery::current`] from anywhere inside the scope:
//!
//! ```
//! use resilience_runtime::{fallback, recovery, retry};
//!
//! #[derive(Debug)]
//! struct ApiError;
//! impl std::fmt::Display for ApiError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("upstream down")
//!     }
//! }
//!
//! async fn placeholder(id: u32, _: ApiError) -> Result<String, ApiError> {
//!     Ok(format!("placeholder {id}"))
//! }
//!
//! #[fallback(fn = placeholder)]
//! #[retry(max = 3, delay = "10ms")]
//! async fn fetch_profile(id: u32) -> Result<String, ApiError> {
//!     Err(ApiError)
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let (profile, recovery) = recovery::scope(fetch_profile(7)).await;
//! assert_eq!(profile.unwrap(), "placeholder 7");
//! assert_eq!(recovery.retries, 2);
//! assert!(recovery.fallback_used());
//! # }
//! ```
//!
//! # What is recorded, and where
//!
//! | field of [`Recovery`] | recorded when |
//! | --- | --- |
//! | `retries` | `#[retry]` decides to make another attempt |
//! | `fallbacks` | `#[fallback]` calls its function |
//! | `stale_served`, `stale_age` | `#[stale_cache]` answers with a stale value (refresh failed, or refreshing in the background) |
//! | `breaker_rejections` | `#[breaker]` rejects a call because its circuit is open |
//! | `bulkhead_rejections` | `#[bulkhead]` turns a call away: every slot taken |
//! | `budget_refusals` | a retry budget refuses a retry (`#[retry(budget = ..)]`) |
//! | `retry_after` | the longest wait a refusal asked for: an open breaker's time until its next probe |
//! | `chaos_faults` | a call meets a fault injected by `chaos` (feature `chaos`): an error, a latency or a hang |
//!
//! The scope is a tokio task-local: it covers the future handed to
//! [`scope`], on whatever threads that future is polled, but not tasks it
//! spawns (a background cache refresh runs in a task of its own and is not
//! part of the request). A scope inside another hands its counts to the
//! outer one when it ends.
//!
//! # Cost
//!
//! Recording happens only on failure paths (a retry, a fallback, a stale
//! value, a rejection): a healthy call records nothing. Outside a scope, a
//! recording is one task-local lookup that finds nothing.
//!
//! # Over HTTP
//!
//! With the `tower` feature, `RecoveryLayer` opens a scope per request and
//! writes it on the response as headers: `X-Retry-Count`, `X-Fallback`,
//! `X-Stale-Age`, `X-Chaos-Faults` and `X-Trace-Id`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::task::futures::TaskLocalFuture;

#[cfg(feature = "tower")]
mod layer;
#[cfg(feature = "tower")]
mod trace_id;
#[cfg(feature = "tower")]
pub use layer::{RecoveryFuture, RecoveryLayer, RecoveryService};
#[cfg(feature = "tower")]
pub use trace_id::TraceId;

tokio::task_local! {
    static CURRENT: Cell<Recovery>;
}

/// What the attributes did inside one [`scope`]: all zero when every call
/// succeeded at once.
///
/// ```
/// use resilience_runtime::recovery::{self, Recovery};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ((), recovery) = recovery::scope(async {}).await;
/// assert_eq!(recovery, Recovery::default());
/// assert!(!recovery.recovered());
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    /// Retries made by `#[retry]`: attempts after the first, summed over
    /// every decorated call in the scope.
    pub retries: u32,
    /// Answers given by `#[fallback]` functions.
    pub fallbacks: u32,
    /// Stale values served by `#[stale_cache]`.
    pub stale_served: u32,
    /// The age of the oldest stale value served, if any was.
    pub stale_age: Option<Duration>,
    /// Calls `#[breaker]` rejected because the circuit was open.
    pub breaker_rejections: u32,
    /// Calls a full `#[bulkhead]` turned away.
    pub bulkhead_rejections: u32,
    /// Retries a retry budget refused (`#[retry(budget = ..)]`).
    pub budget_refusals: u32,
    /// The longest wait a refusal asked for: an open breaker's time until
    /// its next probe. `None` when no refusal named one.
    pub retry_after: Option<Duration>,
    /// Faults injected by [`chaos`](crate#features) (feature `chaos`) into
    /// the calls made for the request: the answer met a rehearsed outage.
    pub chaos_faults: u32,
}

impl Recovery {
    /// What the enclosing [`scope`] has recorded so far, or `None` outside
    /// a scope.
    ///
    /// ```
    /// use resilience_runtime::recovery::{self, Recovery};
    ///
    /// assert_eq!(Recovery::current(), None);
    /// let (inside, _) = recovery::scope_blocking(Recovery::current);
    /// assert_eq!(inside, Some(Recovery::default()));
    /// ```
    pub fn current() -> Option<Recovery> {
        CURRENT.try_with(Cell::get).ok()
    }

    /// Whether a fallback answered.
    ///
    /// ```
    /// use resilience_runtime::recovery::Recovery;
    /// assert!(!Recovery::default().fallback_used());
    /// ```
    pub fn fallback_used(&self) -> bool {
        self.fallbacks > 0
    }

    /// Whether anything was recovered from: a retry, a fallback, a stale
    /// value or a rejection.
    ///
    /// ```
    /// use resilience_runtime::recovery::Recovery;
    /// assert!(!Recovery::default().recovered());
    /// ```
    pub fn recovered(&self) -> bool {
        *self != Recovery::default()
    }

    /// Adds what `other` recorded.
    fn absorb(&mut self, other: &Recovery) {
        self.retries = self.retries.saturating_add(other.retries);
        self.fallbacks = self.fallbacks.saturating_add(other.fallbacks);
        self.stale_served = self.stale_served.saturating_add(other.stale_served);
        self.stale_age = self.stale_age.max(other.stale_age);
        self.breaker_rejections = self
            .breaker_rejections
            .saturating_add(other.breaker_rejections);
        self.bulkhead_rejections = self
            .bulkhead_rejections
            .saturating_add(other.bulkhead_rejections);
        self.budget_refusals = self.budget_refusals.saturating_add(other.budget_refusals);
        self.retry_after = self.retry_after.max(other.retry_after);
        self.chaos_faults = self.chaos_faults.saturating_add(other.chaos_faults);
    }

    /// Whether a call was refused to protect a dependency or this service
    /// (an open breaker, a full bulkhead, an empty retry budget): load was
    /// shed.
    ///
    /// ```
    /// use resilience_runtime::recovery::Recovery;
    /// assert!(!Recovery::default().shed());
    /// ```
    pub fn shed(&self) -> bool {
        self.breaker_rejections > 0 || self.bulkhead_rejections > 0 || self.budget_refusals > 0
    }
}

/// Runs `future` in a recovery scope; resolves to its output and what was
/// recorded while it ran.
///
/// ```
/// use resilience_runtime::recovery;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (answer, recovery) = recovery::scope(async { 42 }).await;
/// assert_eq!(answer, 42);
/// assert_eq!(recovery.retries, 0);
/// # }
/// ```
pub fn scope<F: Future>(future: F) -> Scope<F> {
    Scope {
        inner: CURRENT.scope(Cell::new(Recovery::default()), future),
    }
}

/// Runs `f` in a recovery scope, for sync code; returns its result and what
/// was recorded while it ran.
///
/// ```
/// use resilience_runtime::{recovery, retry};
///
/// #[retry(max = 2, delay = "1ms")]
/// fn flaky(calls: &mut u32) -> Result<u32, String> {
///     *calls += 1;
///     if *calls == 1 { Err("timeout".into()) } else { Ok(*calls) }
/// }
///
/// let mut calls = 0;
/// let (result, recovery) = recovery::scope_blocking(|| flaky(&mut calls));
/// assert_eq!(result, Ok(2));
/// assert_eq!(recovery.retries, 1);
/// ```
pub fn scope_blocking<R>(f: impl FnOnce() -> R) -> (R, Recovery) {
    let (output, recovery) = CURRENT.sync_scope(Cell::new(Recovery::default()), || {
        let output = f();
        (output, CURRENT.with(Cell::get))
    });
    record(|outer| outer.absorb(&recovery));
    (output, recovery)
}

pin_project_lite::pin_project! {
    /// The future of [`scope`]: the wrapped future's output and the
    /// [`Recovery`] recorded while it ran.
    ///
    /// ```
    /// use resilience_runtime::recovery::{self, Scope};
    ///
    /// fn scoped<F: std::future::Future>(future: F) -> Scope<F> {
    ///     recovery::scope(future)
    /// }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let (value, recovery) = scoped(async { "ok" }).await;
    /// assert_eq!((value, recovery.recovered()), ("ok", false));
    /// # }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct Scope<F: Future> {
        #[pin]
        inner: TaskLocalFuture<Cell<Recovery>, F>,
    }
}

impl<F: Future> Future for Scope<F> {
    type Output = (F::Output, Recovery);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.project().inner;
        let output = ready!(inner.as_mut().poll(cx));
        let recovery = inner.take_value().map(Cell::into_inner).unwrap_or_default();
        // Back in the enclosing scope, if there is one.
        record(|outer| outer.absorb(&recovery));
        Poll::Ready((output, recovery))
    }
}

impl<F: Future> std::fmt::Debug for Scope<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// Applies `update` to the current scope's record; nothing outside a scope.
#[inline]
fn record(update: impl FnOnce(&mut Recovery)) {
    let _outside = CURRENT.try_with(|cell| {
        let mut recovery = cell.get();
        update(&mut recovery);
        cell.set(recovery);
    });
}

/// `#[retry]` is about to make another attempt.
pub(crate) fn retried() {
    record(|recovery| recovery.retries = recovery.retries.saturating_add(1));
}

/// A `#[fallback]` function is about to answer.
pub(crate) fn fallback_used() {
    record(|recovery| recovery.fallbacks = recovery.fallbacks.saturating_add(1));
}

/// A stale value `age` old answers the request.
pub(crate) fn stale_served(age: Duration) {
    record(|recovery| {
        recovery.stale_served = recovery.stale_served.saturating_add(1);
        recovery.stale_age = recovery.stale_age.max(Some(age));
    });
}

/// A breaker rejected a call; it opens to probes in `wait`.
pub(crate) fn breaker_rejected(wait: Duration) {
    record(|recovery| {
        recovery.breaker_rejections = recovery.breaker_rejections.saturating_add(1);
        recovery.retry_after = recovery.retry_after.max(Some(wait));
    });
}

/// A full bulkhead turned a call away.
pub(crate) fn bulkhead_rejected() {
    record(|recovery| {
        recovery.bulkhead_rejections = recovery.bulkhead_rejections.saturating_add(1);
    });
}

/// A retry budget refused a retry.
pub(crate) fn budget_refused() {
    record(|recovery| recovery.budget_refusals = recovery.budget_refusals.saturating_add(1));
}

/// A call met a fault injected by `chaos`.
#[cfg_attr(not(feature = "chaos"), allow(dead_code))]
pub(crate) fn chaos_injected() {
    record(|recovery| recovery.chaos_faults = recovery.chaos_faults.saturating_add(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_outside_a_scope_does_nothing() {
        retried();
        fallback_used();
        stale_served(Duration::from_secs(3));
        breaker_rejected(Duration::from_secs(5));
        assert_eq!(Recovery::current(), None);
        // Nothing recorded outside was kept for a scope opened later on the
        // same thread: it sees only its own.
        let ((), recovery) = scope_blocking(retried);
        assert_eq!(
            recovery,
            Recovery {
                retries: 1,
                ..Recovery::default()
            }
        );
    }

    #[test]
    fn a_blocking_scope_collects_every_kind() {
        let ((), recovery) = scope_blocking(|| {
            retried();
            retried();
            fallback_used();
            stale_served(Duration::from_secs(3));
            stale_served(Duration::from_secs(9));
            stale_served(Duration::from_secs(1));
            breaker_rejected(Duration::from_secs(5));
            breaker_rejected(Duration::from_secs(2));
            bulkhead_rejected();
            budget_refused();
            chaos_injected();
        });
        assert_eq!(
            recovery,
            Recovery {
                retries: 2,
                fallbacks: 1,
                stale_served: 3,
                stale_age: Some(Duration::from_secs(9)),
                breaker_rejections: 2,
                bulkhead_rejections: 1,
                budget_refusals: 1,
                retry_after: Some(Duration::from_secs(5)),
                chaos_faults: 1,
            }
        );
        assert!(recovery.recovered() && recovery.fallback_used() && recovery.shed());
    }

    #[tokio::test]
    async fn an_async_scope_sees_records_across_awaits() {
        let (seen, recovery) = scope(async {
            retried();
            tokio::task::yield_now().await;
            breaker_rejected(Duration::from_secs(5));
            Recovery::current()
        })
        .await;
        assert_eq!(seen, Some(recovery));
        assert_eq!((recovery.retries, recovery.breaker_rejections), (1, 1));
    }

    #[tokio::test]
    async fn an_inner_scope_hands_its_counts_to_the_outer_one() {
        let (inner, outer) = scope(async {
            retried();
            let ((), inner) = scope(async { fallback_used() }).await;
            let ((), _) = scope_blocking(retried);
            inner
        })
        .await;
        assert_eq!((inner.retries, inner.fallbacks), (0, 1));
        assert_eq!((outer.retries, outer.fallbacks), (2, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_value_served_records_its_age() {
        use crate::stale_cache::{CacheConfig, StaleCache};

        let cache: StaleCache<u8, &str> = StaleCache::new(
            CacheConfig::new()
                .maxage(Duration::from_secs(5))
                .tolerance(Duration::from_secs(60)),
        );
        let describe = |_: &(), f: &mut std::fmt::Formatter<'_>| f.write_str("down");
        let (_, fresh) = scope(
            cache
                .request(1, "t")
                .describe(describe)
                .load(async { Ok("v1") }),
        )
        .await;
        assert!(!fresh.recovered());
        tokio::time::advance(Duration::from_secs(12)).await;
        let (value, stale) = scope(
            cache
                .request(1, "t")
                .describe(describe)
                .load(async { Err(()) }),
        )
        .await;
        assert_eq!(value, Ok("v1"));
        assert_eq!(stale.stale_served, 1);
        assert_eq!(stale.stale_age, Some(Duration::from_secs(12)));
    }

    #[test]
    fn a_breaker_rejection_is_recorded_and_a_healthy_call_is_not() {
        use crate::breaker::{Breaker, BreakerConfig};

        let breaker = Breaker::new("recovery-rejections", BreakerConfig::new());
        let ((), healthy) = scope_blocking(|| breaker.try_acquire().unwrap().record(false));
        assert!(!healthy.recovered());
        breaker.force_open();
        let (result, rejected) = scope_blocking(|| breaker.try_acquire().map(drop));
        assert!(result.is_err());
        assert_eq!(rejected.breaker_rejections, 1);
    }

    #[tokio::test]
    async fn spawned_tasks_are_outside_the_scope() {
        let ((), recovery) = scope(async {
            tokio::spawn(async { retried() }).await.unwrap();
        })
        .await;
        assert_eq!(recovery.retries, 0);
    }
}
