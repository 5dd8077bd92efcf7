//! The overload simulations of `cargo run --example overload`: retry storms
//! in a chain of services, and a brown-out seen by a rate breaker and by a
//! throttling one. Deterministic: paused tokio time and seeded draws, so a
//! run repeats to the call, and a test pins its results.
//!
//! ```
//! use resilience_examples::overload;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let chain = overload::amplification(overload::Retries::Plain, 100).await;
//! assert_eq!(chain.bottom_attempts, 100 * 27, "3 x 3 x 3 attempts per request");
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use resilience_runtime::breaker;
use resilience_runtime::{CircuitOpen, breaker as breaker_attr, recovery, retry};

/// A failed call, as a service answers it: whether the service retried
/// before giving up (its `X-Retry-Count` was above 0), and whether it shed
/// the call (a `503` with `Retry-After`: an empty retry budget, an open
/// breaker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The service below already retried.
    pub retried: bool,
    /// The service below refused the call to shed load.
    pub shed: bool,
}

impl From<CircuitOpen> for Failure {
    fn from(_: CircuitOpen) -> Self {
        Failure {
            retried: false,
            shed: true,
        }
    }
}

/// How each layer of the chain retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retries {
    /// `#[retry(max = 3)]` at every layer.
    Plain,
    /// `#[retry(max = 3, budget = ..)]`: a budget per layer (20 % of the
    /// calls, plus 10 retries a second).
    Budget,
    /// A budget per layer, and a layer retries only a failure the layer
    /// below neither retried nor shed (it reads `X-Retry-Count` and the
    /// `503`): only the layer next to the failure retries.
    BudgetAndSignal,
}

/// Retry amplification through three services to a dead fourth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amplification {
    /// User requests made to the top service.
    pub requests: u64,
    /// Attempts that reached the dead service at the bottom.
    pub bottom_attempts: u64,
}

impl Amplification {
    /// Attempts at the bottom per user request.
    pub fn factor(&self) -> f64 {
        self.bottom_attempts as f64 / self.requests as f64
    }
}

static BOTTOM: AtomicU64 = AtomicU64::new(0);

/// The dead service: every call fails.
async fn dead() -> Result<(), Failure> {
    BOTTOM.fetch_add(1, Relaxed);
    Err(Failure {
        retried: false,
        shed: false,
    })
}

/// Runs one service's work as its server does: in a recovery scope, and
/// a failure answered with what the scope saw (`X-Retry-Count`, a `503`).
async fn serve(
    work: impl std::future::Future<Output = Result<(), Failure>>,
) -> Result<(), Failure> {
    let (result, recovery) = recovery::scope(work).await;
    result.map_err(|failure| Failure {
        retried: failure.retried || recovery.retries > 0,
        shed: failure.shed || recovery.budget_refusals > 0 || recovery.breaker_rejections > 0,
    })
}

/// The `when` of [`Retries::BudgetAndSignal`]: not what was retried or
/// shed below.
fn not_retried_below(failure: &Failure) -> bool {
    !failure.retried && !failure.shed
}

#[retry(max = 3, backoff = "none")]
async fn plain_c() -> Result<(), Failure> {
    serve(dead()).await
}
#[retry(max = 3, backoff = "none")]
async fn plain_b() -> Result<(), Failure> {
    serve(plain_c()).await
}
#[retry(max = 3, backoff = "none")]
async fn plain_a() -> Result<(), Failure> {
    serve(plain_b()).await
}

#[retry(max = 3, backoff = "none", budget = "overload-budget-c")]
async fn budget_c() -> Result<(), Failure> {
    serve(dead()).await
}
#[retry(max = 3, backoff = "none", budget = "overload-budget-b")]
async fn budget_b() -> Result<(), Failure> {
    serve(budget_c()).await
}
#[retry(max = 3, backoff = "none", budget = "overload-budget-a")]
async fn budget_a() -> Result<(), Failure> {
    serve(budget_b()).await
}

#[retry(max = 3, backoff = "none", budget = "overload-signal-c", when = not_retried_below)]
async fn signal_c() -> Result<(), Failure> {
    serve(dead()).await
}
#[retry(max = 3, backoff = "none", budget = "overload-signal-b", when = not_retried_below)]
async fn signal_b() -> Result<(), Failure> {
    serve(signal_c()).await
}
#[retry(max = 3, backoff = "none", budget = "overload-signal-a", when = not_retried_below)]
async fn signal_a() -> Result<(), Failure> {
    serve(signal_b()).await
}

/// `requests` user requests, 1 000 a second (on the paused clock), through
/// three services that each retry as `retries` says, to a dead fourth.
/// Each variant runs once per process: its budgets are process-wide.
pub async fn amplification(retries: Retries, requests: u64) -> Amplification {
    let before = BOTTOM.load(Relaxed);
    for _ in 0..requests {
        // Every answer is an error: the bottom is dead.
        let _ = match retries {
            Retries::Plain => serve(plain_a()).await,
            Retries::Budget => serve(budget_a()).await,
            Retries::BudgetAndSignal => serve(signal_a()).await,
        };
        tokio::time::advance(Duration::from_millis(1)).await;
    }
    Amplification {
        requests,
        bottom_attempts: BOTTOM.load(Relaxed) - before,
    }
}

/// How a breaker meets a brown-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `#[breaker(failure_rate = 0.5, open_for = 10)]`: opens on the rate.
    Rate,
    /// `#[breaker(throttle = 2)]`: rejects a share of calls, never opens.
    Throttle,
}

/// A brown-out as a breaker met it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrownOut {
    /// Open and close transitions (any state change).
    pub transitions: u32,
    /// Calls that reached the dependency during the brown-out.
    pub sent: u64,
    /// Of those, the ones it accepted (succeeded).
    pub accepted: u64,
    /// Calls offered during the brown-out.
    pub offered: u64,
    /// Seconds after the recovery until a whole second's calls all reached
    /// the dependency.
    pub back_after_secs: u32,
}

impl BrownOut {
    /// Calls sent per call accepted during the brown-out.
    pub fn load_per_accepted(&self) -> f64 {
        self.sent as f64 / self.accepted.max(1) as f64
    }
}

/// The dependency of the brown-out: fails when the draw says so.
struct Flaky {
    failing: AtomicU64,
    sent: AtomicU64,
    accepted: AtomicU64,
}

impl Flaky {
    fn call(&self) -> Result<(), Failure> {
        self.sent.fetch_add(1, Relaxed);
        if fastrand::f64() < f64::from_bits(self.failing.load(Relaxed)) {
            return Err(Failure {
                retried: false,
                shed: false,
            });
        }
        self.accepted.fetch_add(1, Relaxed);
        Ok(())
    }
}

#[breaker_attr(name = "overload-rate", failure_rate = 0.5, open_for = 10)]
fn rate_breaker(dependency: &Flaky) -> Result<(), Failure> {
    dependency.call()
}

#[breaker_attr(name = "overload-throttle", throttle = 2)]
fn throttle_breaker(dependency: &Flaky) -> Result<(), Failure> {
    dependency.call()
}

/// 100 calls a second to a dependency that fails half of them for a
/// minute, then none for a minute, through a breaker of `mode` (its window
/// the default 10 s). Seeded: `seed` drives the failures and the
/// throttling draws.
pub async fn brown_out(mode: Mode, seed: u64) -> BrownOut {
    fastrand::seed(seed);
    let name = match mode {
        Mode::Rate => "overload-rate",
        Mode::Throttle => "overload-throttle",
    };
    let transitions = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&transitions);
    breaker::registry().on_state_change(move |change| {
        if change.name == name {
            counted.fetch_add(1, Relaxed);
        }
    });
    let dependency = Flaky {
        failing: AtomicU64::new(0.5_f64.to_bits()),
        sent: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
    };
    let call = |dependency: &Flaky| match mode {
        Mode::Rate => rate_breaker(dependency),
        Mode::Throttle => throttle_breaker(dependency),
    };
    let tick = Duration::from_millis(10);
    for _ in 0..6000 {
        let _ = call(&dependency);
        tokio::time::advance(tick).await;
    }
    let (sent, accepted) = (
        dependency.sent.load(Relaxed),
        dependency.accepted.load(Relaxed),
    );
    dependency.failing.store(0.0_f64.to_bits(), Relaxed);
    let mut back_after_secs = None;
    for second in 1..=60 {
        let before = dependency.sent.load(Relaxed);
        for _ in 0..100 {
            let _ = call(&dependency);
            tokio::time::advance(tick).await;
        }
        if dependency.sent.load(Relaxed) - before == 100 && back_after_secs.is_none() {
            back_after_secs = Some(second);
        }
    }
    BrownOut {
        transitions: transitions.load(Relaxed),
        sent,
        accepted,
        offered: 6000,
        back_after_secs: back_after_secs.unwrap_or(u32::MAX),
    }
}

/// How calls to an overloaded dependency are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// No bulkhead: every call is sent.
    None,
    /// `#[bulkhead(max_concurrent = 20)]`: the dependency's capacity,
    /// known in advance.
    Fixed,
    /// `#[bulkhead(max_concurrent = 100, max_wait = "50ms", adaptive =
    /// true)]`: the capacity found from latency.
    Adaptive,
}

/// An overload step, as the callers saw it during the 3× phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Answers within the deadline per second, as a share of the
    /// dependency's capacity.
    pub goodput: f64,
    /// The 99th percentile latency of the calls the bulkhead let through
    /// (to their answer, or to the deadline).
    pub admitted_p99: Duration,
    /// The same when the dependency is not loaded (its base latency).
    pub unloaded_p99: Duration,
}

/// The dependency of the overload step: `CAPACITY` calls at a time in
/// `BASE` each; beyond that, every call is slower in proportion (it shares
/// the workers), and its work goes on when its caller gave up.
struct Server {
    inflight: AtomicU32,
}

const CAPACITY: u32 = 20;
const BASE: Duration = Duration::from_millis(50);
const DEADLINE: Duration = Duration::from_millis(250);

impl Server {
    async fn call(self: &Arc<Self>) -> Result<(), Failure> {
        let server = Arc::clone(self);
        let work = tokio::spawn(async move {
            let running = server.inflight.fetch_add(1, Relaxed) + 1;
            let share = f64::from(running.max(CAPACITY)) / f64::from(CAPACITY);
            tokio::time::sleep(BASE.mul_f64(share)).await;
            server.inflight.fetch_sub(1, Relaxed);
        });
        work.await.map_err(|_| Failure {
            retried: false,
            shed: false,
        })
    }
}

impl From<resilience_runtime::BulkheadFull> for Failure {
    fn from(_: resilience_runtime::BulkheadFull) -> Self {
        Failure {
            retried: false,
            shed: true,
        }
    }
}

/// The latency of a call the bulkhead let through, kept by its caller.
async fn timed(
    server: &Arc<Server>,
    latencies: &std::sync::Mutex<Vec<Duration>>,
) -> Result<(), Failure> {
    let started = tokio::time::Instant::now();
    let _kept = Kept { started, latencies };
    server.call().await
}

/// Records its call's latency when dropped: at its answer, or when the
/// caller's deadline dropped it.
struct Kept<'a> {
    started: tokio::time::Instant,
    latencies: &'a std::sync::Mutex<Vec<Duration>>,
}

impl Drop for Kept<'_> {
    fn drop(&mut self) {
        let latency = self.started.elapsed();
        self.latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(latency);
    }
}

async fn unlimited(
    server: &Arc<Server>,
    latencies: &std::sync::Mutex<Vec<Duration>>,
) -> Result<(), Failure> {
    timed(server, latencies).await
}

#[resilience_runtime::bulkhead(max_concurrent = 20, name = "overload-fixed")]
async fn fixed(
    server: &Arc<Server>,
    latencies: &std::sync::Mutex<Vec<Duration>>,
) -> Result<(), Failure> {
    timed(server, latencies).await
}

#[resilience_runtime::bulkhead(
    max_concurrent = 100,
    max_wait = "50ms",
    adaptive = true,
    name = "overload-adaptive"
)]
async fn adaptive(
    server: &Arc<Server>,
    latencies: &std::sync::Mutex<Vec<Duration>>,
) -> Result<(), Failure> {
    timed(server, latencies).await
}

/// 10 s at 0.8× the dependency's capacity (20 calls of 50 ms at a time:
/// 400 a second), then 20 s at 3×, callers giving up after 250 ms; what
/// the last 10 s of the 3× phase looked like. Each variant runs once per
/// process: its bulkhead is process-wide.
pub async fn overload_step(limit: Limit) -> Step {
    let server = Arc::new(Server {
        inflight: AtomicU32::new(0),
    });
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let answered = Arc::new(AtomicU64::new(0));
    let capacity_per_sec = f64::from(CAPACITY) / BASE.as_secs_f64();
    let mut measured_from = None;
    let mut owed = 0.0;
    for millis in 0..30_000_u64 {
        let rate = if millis < 10_000 { 0.8 } else { 3.0 } * capacity_per_sec;
        if millis == 20_000 {
            // The last 10 s: what is measured.
            latencies.lock().unwrap().clear();
            measured_from = Some(answered.load(Relaxed));
        }
        owed += rate / 1000.0;
        while owed >= 1.0 {
            owed -= 1.0;
            let (server, latencies, answered) = (
                Arc::clone(&server),
                Arc::clone(&latencies),
                Arc::clone(&answered),
            );
            tokio::spawn(async move {
                let call = async {
                    match limit {
                        Limit::None => unlimited(&server, &latencies).await,
                        Limit::Fixed => fixed(&server, &latencies).await,
                        Limit::Adaptive => adaptive(&server, &latencies).await,
                    }
                };
                if let Ok(Ok(())) = tokio::time::timeout(DEADLINE, call).await {
                    answered.fetch_add(1, Relaxed);
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let good = answered.load(Relaxed) - measured_from.unwrap_or(0);
    let mut latencies = latencies.lock().unwrap().clone();
    latencies.sort_unstable();
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .copied()
        .unwrap_or_default();
    Step {
        goodput: good as f64 / 10.0 / capacity_per_sec,
        admitted_p99: p99,
        unloaded_p99: BASE,
    }
}
