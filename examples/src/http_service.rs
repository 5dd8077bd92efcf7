//! The HTTP service of `cargo run --example http_service`, as a library so
//! the integration test serves the very same app.
//!
//! `GET /profile/{id}` calls a simulated upstream through the attributes,
//! in the documented order; `GET /profile/{id}/live` through the same
//! bulkhead, breaker and retry budget, with no cache and no fallback;
//! [`RecoveryLayer`] writes on every response what it took to answer
//! (`X-Retry-Count`, `X-Fallback`, `X-Stale-Age`, `X-Trace-Id`), and turns
//! an answer an open breaker or a full bulkhead produced into `503` with
//! `Retry-After`. `GET /metrics` renders the Prometheus text
//! of the `metrics` recorder [`install_metrics`] installs, after
//! [`resilience_runtime::flush_metrics`] has handed over the counts kept
//! back for a batch.
//!
//! ```no_run
//! use std::sync::Arc;
//! use resilience_examples::http_service::{Upstream, app, install_metrics, serve};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = install_metrics()?; // before the first decorated call
//! let upstream = Arc::new(Upstream::new(0.66, 42));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let admin_token = std::env::var("RESILIENCE_ADMIN_TOKEN").ok();
//! serve(listener, app(upstream, metrics, admin_token.as_deref())).await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use resilience_runtime::recovery::RecoveryLayer;
use resilience_runtime::status::StatusService;
use resilience_runtime::{
    BulkheadFull, CircuitOpen, breaker, bulkhead, fallback, retry, stale_cache,
};

/// The breaker in front of the upstream, as `/metrics` labels it.
pub const BREAKER: &str = "profile-service";

/// The cached function, as the `function` label of `/metrics` names it
/// (its cache and its fallback).
pub const FUNCTION: &str = concat!(module_path!(), "::fetch_profile");

/// The retried function below it, as `retry_attempts_total` names it.
pub const LIVE_FUNCTION: &str = concat!(module_path!(), "::fetch_live_profile");

/// What the example reads from its environment.
#[derive(Clone, PartialEq)]
pub struct Config {
    /// Where to listen: `127.0.0.1:$PORT`, port 3000 by default.
    pub addr: SocketAddr,
    /// `FAILURE_RATE`: the share of upstream calls that fail, 0.66 by default.
    pub failure_rate: f64,
    /// `SEED`: seeds the upstream's failures, so runs repeat; 42 by default.
    pub seed: u64,
    /// `RESILIENCE_ADMIN_TOKEN`: turns on the status page's control routes
    /// for requests that carry it as a bearer token; off when unset or empty.
    pub admin_token: Option<String>,
}

/// The token is left out: a log of the configuration must not leak it.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("failure_rate", &self.failure_rate)
            .field("seed", &self.seed)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl Config {
    /// Reads `PORT`, `FAILURE_RATE`, `SEED` and `RESILIENCE_ADMIN_TOKEN`,
    /// each optional.
    ///
    /// # Errors
    ///
    /// A value that does not parse, with what was expected.
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `var`.
    ///
    /// ```
    /// use resilience_examples::http_service::Config;
    ///
    /// let config = Config::from_vars(|name| (name == "PORT").then(|| "8080".to_string())).unwrap();
    /// assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
    /// assert_eq!(config.failure_rate, 0.66);
    /// ```
    ///
    /// # Errors
    ///
    /// A value that does not parse, with what was expected.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let port = match var("PORT") {
            None => 3000,
            Some(port) => port
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("PORT must be a port number from 0 to 65535, got {port:?}"))?,
        };
        let failure_rate = match var("FAILURE_RATE") {
            None => 0.66,
            Some(rate) => rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|rate| (0.0..=1.0).contains(rate))
                .ok_or_else(|| {
                    format!("FAILURE_RATE must be a number from 0 to 1 (0.66 fails two calls in three), got {rate:?}")
                })?,
        };
        let seed = match var("SEED") {
            None => 42,
            Some(seed) => seed
                .trim()
                .parse::<u64>()
                .map_err(|_| format!("SEED must be a whole number, got {seed:?}"))?,
        };
        Ok(Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            failure_rate,
            seed,
            admin_token: var("RESILIENCE_ADMIN_TOKEN").filter(|token| !token.is_empty()),
        })
    }
}

/// A profile, as the service answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "redis", derive(serde::Serialize, serde::Deserialize))]
pub struct Profile {
    /// The id asked for.
    pub id: u64,
    /// The user's name, or a placeholder's.
    pub name: String,
    /// Whether the upstream or the fallback produced it.
    pub placeholder: bool,
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = if self.placeholder {
            "placeholder"
        } else {
            "upstream"
        };
        writeln!(f, "profile {}: {} ({source})", self.id, self.name)
    }
}

/// Why the upstream gave no profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileError {
    /// The upstream failed (the simulated timeout).
    Unavailable,
    /// The breaker is open: the upstream was not called.
    CircuitOpen(CircuitOpen),
    /// Every slot of the upstream's bulkhead was taken: not called either.
    Busy(BulkheadFull),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileError::Unavailable => f.write_str("profile upstream timed out"),
            ProfileError::CircuitOpen(open) => open.fmt(f),
            ProfileError::Busy(full) => full.fmt(f),
        }
    }
}

impl std::error::Error for ProfileError {}

impl From<CircuitOpen> for ProfileError {
    fn from(open: CircuitOpen) -> Self {
        ProfileError::CircuitOpen(open)
    }
}

impl From<BulkheadFull> for ProfileError {
    fn from(full: BulkheadFull) -> Self {
        ProfileError::Busy(full)
    }
}

/// The simulated upstream: each call fails with probability
/// `failure_rate`, drawn from a generator seeded once, so a run repeats.
///
/// ```
/// use resilience_examples::http_service::Upstream;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let upstream = Upstream::new(0.0, 42);
/// assert!(upstream.get_profile(7).await.is_ok());
/// upstream.set_failure_rate(1.0);
/// assert!(upstream.get_profile(7).await.is_err());
/// assert_eq!(upstream.calls(), 2);
/// # }
/// ```
#[derive(Debug)]
pub struct Upstream {
    rng: Mutex<fastrand::Rng>,
    /// The failure rate's `f64` bits, so tests can change it while serving.
    failure_rate: AtomicU64,
    calls: AtomicU64,
}

impl Upstream {
    /// An upstream failing with probability `failure_rate` (0 never, 1
    /// always), its failures drawn from `seed`.
    pub fn new(failure_rate: f64, seed: u64) -> Self {
        Self {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            failure_rate: AtomicU64::new(failure_rate.to_bits()),
            calls: AtomicU64::new(0),
        }
    }

    /// Changes the failure rate from now on.
    pub fn set_failure_rate(&self, failure_rate: f64) {
        self.failure_rate
            .store(failure_rate.to_bits(), Ordering::Relaxed);
    }

    /// Calls made so far (attempts, retries included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// One call.
    ///
    /// # Errors
    ///
    /// [`ProfileError::Unavailable`] with probability `failure_rate`.
    pub async fn get_profile(&self, id: u64) -> Result<Profile, ProfileError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let failure_rate = f64::from_bits(self.failure_rate.load(Ordering::Relaxed));
        let draw = self
            .rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .f64();
        if draw < failure_rate {
            return Err(ProfileError::Unavailable);
        }
        Ok(Profile {
            id,
            name: format!("User {id}"),
            placeholder: false,
        })
    }
}

/// The last resort: a placeholder profile.
async fn placeholder_profile(
    _upstream: &Upstream,
    id: u64,
    _error: ProfileError,
) -> Result<Profile, ProfileError> {
    Ok(Profile {
        id,
        name: format!("Guest {id}"),
        placeholder: true,
    })
}

/// A profile, through the attributes in the documented order: a
/// profile is fresh for 5 s and may be served stale up to 60 s old when a
/// refresh fails (no retries of its own: [`fetch_live_profile`] below
/// retries); the placeholder answers when nothing below could.
///
/// Built with the `redis` feature, the cache and the breaker are shared
/// with every instance connected to the same Redis ([`connect_fleet`]):
/// a profile one instance loaded is served by the others, and a breaker
/// two instances opened (the default quorum) is open on all.
///
/// # Errors
///
/// None in practice: the fallback answers every error.
#[fallback(fn = placeholder_profile)]
#[cfg_attr(
    feature = "redis",
    stale_cache(maxage = 5, tolerance = 60, retries = 0, key = id, shared = true)
)]
#[cfg_attr(
    not(feature = "redis"),
    stale_cache(maxage = 5, tolerance = 60, retries = 0, key = id)
)]
pub async fn fetch_profile(upstream: &Upstream, id: u64) -> Result<Profile, ProfileError> {
    fetch_live_profile(upstream, id).await
}

/// The upstream's profile now, or an error: no cache, no placeholder. Read
/// from the bottom: each call gets 3 attempts, its retries drawn from the
/// `profile-upstream` retry budget (20 % of the calls, plus 10 a second);
/// the breaker opens when more than half of at least 4 calls in 30 s
/// failed, and stays open 10 s; at most 32 calls reach the upstream at once
/// (a further one waits 100 ms for a slot). While the breaker is open the
/// `/live` route answers `503` with `Retry-After` (the [`RecoveryLayer`]
/// sheds it), so its callers wait for the next probe.
///
/// # Errors
///
/// The upstream's error after the retries, or the open breaker's or the
/// full bulkhead's, without calling it.
#[bulkhead(max_concurrent = 32, max_wait = "100ms", name = "profile-upstream")]
#[cfg_attr(
    feature = "redis",
    breaker(
        name = "profile-service",
        failure_rate = 0.5,
        min_calls = 4,
        window = 30,
        open_for = 10,
        shared = true
    )
)]
#[cfg_attr(
    not(feature = "redis"),
    breaker(
        name = "profile-service",
        failure_rate = 0.5,
        min_calls = 4,
        window = 30,
        open_for = 10
    )
)]
#[retry(max = 3, backoff = "exp", delay = "100ms", budget = "profile-upstream")]
pub async fn fetch_live_profile(upstream: &Upstream, id: u64) -> Result<Profile, ProfileError> {
    upstream.get_profile(id).await
}

/// Connects the fleet tier to the Redis at `url` (namespace
/// `http-service`), so instances share their profile cache and breaker.
/// Call it at start-up, before the first request.
///
/// # Errors
///
/// A URL redis-rs does not accept; or, built without the `redis` feature,
/// always, saying how to build with it.
pub async fn connect_fleet(url: &str) -> Result<(), String> {
    #[cfg(feature = "redis")]
    {
        resilience_runtime::fleet::connect(url, "http-service")
            .await
            .map(|_| ())
            .map_err(|error| format!("REDIS_URL: {error}"))
    }
    #[cfg(not(feature = "redis"))]
    {
        Err(format!(
            "REDIS_URL={url} is set, but this build has no fleet tier: \
             run `cargo run --example http_service --features redis`"
        ))
    }
}

/// Installs the Prometheus recorder as the process's `metrics` recorder,
/// once; later calls return the same handle. Call it before the first
/// decorated call: breakers and caches keep the metric handles they take
/// on their first call.
///
/// # Errors
///
/// Another `metrics` recorder was installed first.
pub fn install_metrics() -> Result<PrometheusHandle, String> {
    static INSTALLED: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            PrometheusBuilder::new()
                .install_recorder()
                .map_err(|error| {
                    format!(
                        "cannot install the Prometheus recorder ({error}): a process has one \
                     `metrics` recorder; install this one first, or render the one you have"
                    )
                })
        })
        .clone()
}

/// With the `chaos` feature: the error a rehearsal fails the upstream's
/// calls with, [`ProfileError::Unavailable`] (what a real timeout gives),
/// registered for [`LIVE_FUNCTION`] and for the breaker [`BREAKER`], so
/// that an injection into either — from code, or from a control route
/// with plain values — needs nothing more. [`app`] calls it.
///
/// ```
/// use resilience_examples::http_service::{LIVE_FUNCTION, register_chaos_errors};
/// use resilience_runtime::chaos::{self, Fault};
///
/// register_chaos_errors();
/// chaos::inject(LIVE_FUNCTION, Fault::new(1).errors(0.5)).unwrap();
/// chaos::stop(LIVE_FUNCTION);
/// ```
#[cfg(feature = "chaos")]
pub fn register_chaos_errors() {
    use resilience_runtime::chaos;
    chaos::register_error(LIVE_FUNCTION, || ProfileError::Unavailable);
    chaos::register_error(BREAKER, || ProfileError::Unavailable);
}

#[derive(Clone)]
struct AppState {
    upstream: Arc<Upstream>,
    metrics: PrometheusHandle,
}

/// The service: `GET /profile/{id}` and `GET /metrics`, every response
/// with the recovery headers; and the status page at `/resilience` (see
/// [`StatusService`]), whose control routes answer to `admin_token` (off
/// without one).
///
/// ```
/// use std::sync::Arc;
/// use metrics_exporter_prometheus::PrometheusBuilder;
/// use resilience_examples::http_service::{Upstream, app};
///
/// // A recorder that is not installed renders nothing of the attributes:
/// // use `install_metrics` in a real service.
/// let metrics = PrometheusBuilder::new().build_recorder().handle();
/// let router = app(Arc::new(Upstream::new(0.66, 42)), metrics, Some("a long random token"));
/// # let _ = router;
/// ```
pub fn app(
    upstream: Arc<Upstream>,
    metrics: PrometheusHandle,
    admin_token: Option<&str>,
) -> Router {
    #[cfg(feature = "chaos")]
    register_chaos_errors();
    let status = StatusService::new(STATUS_PREFIX)
        .admin_token(admin_token.unwrap_or_default())
        .caller_address(|extensions| {
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0)
        });
    Router::new()
        .route("/profile/{id}", get(profile))
        .route("/profile/{id}/live", get(live_profile))
        .route("/metrics", get(render_metrics))
        .layer(RecoveryLayer::new().shed_as_unavailable())
        .with_state(AppState { upstream, metrics })
        // The page, its JSON and its controls: the service matches the
        // whole path.
        .route_service(STATUS_PREFIX, status.clone())
        .route_service("/resilience.json", status.clone())
        .route_service("/resilience/{*control}", status)
}

/// Where [`app`] serves the status page.
pub const STATUS_PREFIX: &str = "/resilience";

/// Serves `app` on `listener` until the process ends.
///
/// # Errors
///
/// What accepting connections fails with.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    // With each connection's peer address, for the status page's events.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

async fn profile(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    match fetch_profile(&state.upstream, id).await {
        Ok(profile) => profile.to_string().into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

async fn live_profile(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    match fetch_live_profile(&state.upstream, id).await {
        Ok(profile) => profile.to_string().into_response(),
        Err(error) => (StatusCode::BAD_GATEWAY, format!("{error}\n")).into_response(),
    }
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    // Counts the attributes keep back for a batch (a breaker's calls, per
    // thread) reach their counters first, so that what is rendered is exact.
    resilience_runtime::flush_metrics();
    state.metrics.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn defaults_then_overrides() {
        let defaults = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(defaults.addr.to_string(), "127.0.0.1:3000");
        assert_eq!((defaults.failure_rate, defaults.seed), (0.66, 42));
        let set = Config::from_vars(vars(&[
            ("PORT", "8080"),
            ("FAILURE_RATE", "1"),
            ("SEED", "7"),
        ]))
        .unwrap();
        assert_eq!(set.addr.port(), 8080);
        assert_eq!((set.failure_rate, set.seed), (1.0, 7));
    }

    #[test]
    fn bad_values_say_what_is_expected() {
        let error = Config::from_vars(vars(&[("FAILURE_RATE", "66%")])).unwrap_err();
        assert!(error.contains("from 0 to 1"), "{error}");
        let error = Config::from_vars(vars(&[("PORT", "http")])).unwrap_err();
        assert!(error.contains("port number"), "{error}");
    }

    #[tokio::test]
    async fn the_seeded_upstream_repeats_its_failures() {
        async fn run() -> Vec<bool> {
            let upstream = Upstream::new(0.66, 42);
            let mut failed = Vec::new();
            for id in 0..20 {
                failed.push(upstream.get_profile(id).await.is_err());
            }
            failed
        }
        let first = run().await;
        assert_eq!(first, run().await);
        assert!(first.iter().any(|f| *f) && first.iter().any(|f| !f));
    }
}
