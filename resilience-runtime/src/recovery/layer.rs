//! [`RecoveryLayer`]: a recovery scope per HTTP request, written on the
//! response as headers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;

use super::trace_id::X_TRACE_ID;
use super::{Recovery, Scope, TraceId, scope};

const X_RETRY_COUNT: HeaderName = HeaderName::from_static("x-retry-count");
const X_FALLBACK: HeaderName = HeaderName::from_static("x-fallback");
const X_STALE_AGE: HeaderName = HeaderName::from_static("x-stale-age");
const X_CHAOS_FAULTS: HeaderName = HeaderName::from_static("x-chaos-faults");

/// The `Retry-After` of a shed answer when no refusal named a wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A tower layer that runs each request in a recovery [`scope`] and writes
/// what happened on the response (available with the `tower` feature):
///
/// | header | value | when |
/// | --- | --- | --- |
/// | `X-Retry-Count` | retries made by `#[retry]` while serving the request | always (`0` when none) |
/// | `X-Fallback` | `true` | a `#[fallback]` function answered |
/// | `X-Stale-Age` | age in whole seconds of the oldest stale value served | `#[stale_cache]` served a stale value |
/// | `X-Chaos-Faults` | faults injected by `chaos` into the calls made for the request (feature `chaos`) | a call met an injected error, latency or hang |
/// | `X-Trace-Id` | the request's trace id (see [`TraceId`]) | always |
///
/// The request's work runs inside a `tracing` span `request` (target
/// `resilience`) with a `trace_id` field, so every event it emits carries
/// the id the response header shows; handlers read it as a request
/// extension, [`TraceId`]. The scope covers the future the inner service
/// returns, not tasks it spawns.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response, StatusCode};
/// use resilience_runtime::recovery::RecoveryLayer;
/// use tower::{ServiceBuilder, ServiceExt as _};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let service = ServiceBuilder::new()
///     .layer(RecoveryLayer::new())
///     .service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new("hello")) });
///
/// let request = Request::builder().header("x-trace-id", "abc-123").body(()).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.headers()["x-retry-count"], "0");
/// assert_eq!(response.headers()["x-trace-id"], "abc-123");
/// assert!(response.headers().get("x-fallback").is_none());
/// # }
/// ```
///
/// With axum: `Router::new().route(..).layer(RecoveryLayer::new())`.
///
/// # Shed load as `503` with `Retry-After`
///
/// Opt in with [`shed_as_unavailable`](Self::shed_as_unavailable): an
/// error answer (a `5xx`) to a request during which a call was refused to
/// shed load — an open breaker, a full bulkhead, an empty retry budget —
/// and that no fallback or stale value answered becomes `503 Service
/// Unavailable` with `Retry-After`: the seconds until the open breaker's
/// next probe (rounded up), else a small default (1 s). So the caller's
/// own retries wait, or stop, instead of piling onto a dependency that
/// this service already protects. A `#[retry]` of the caller reads it
/// with `delay_from`:
///
/// ```
/// use std::time::Duration;
///
/// /// The server's word on the wait: `Retry-After` of a 503 or a 429.
/// fn retry_after(error: &reqwest_like::Error) -> Option<Duration> {
///     error.retry_after_seconds().map(Duration::from_secs)
/// }
/// # mod reqwest_like {
/// #     pub struct Error(Option<u64>);
/// #     impl Error { pub fn retry_after_seconds(&self) -> Option<u64> { self.0 } }
/// # }
/// // #[retry(max = 3, delay_from = retry_after, max_delay = 30)]
/// // async fn call_the_service(..) -> Result<.., reqwest_like::Error> { .. }
/// # let _ = retry_after;
/// ```
///
/// A wait longer than the caller's `max_delay` stops its retries at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryLayer {
    /// `Some(default Retry-After)`: shed answers become 503.
    shed: Option<Duration>,
}

impl RecoveryLayer {
    /// The layer.
    ///
    /// ```
    /// use resilience_runtime::recovery::RecoveryLayer;
    /// let layer = RecoveryLayer::new();
    /// # let _ = layer;
    /// ```
    pub const fn new() -> Self {
        Self { shed: None }
    }

    /// Turns an error answer to a request that shed load (see the type's
    /// docs) into `503 Service Unavailable` with `Retry-After`.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response, StatusCode};
    /// use resilience_runtime::{BulkheadFull, bulkhead};
    /// use resilience_runtime::recovery::RecoveryLayer;
    /// use tower::{ServiceBuilder, ServiceExt as _};
    ///
    /// #[bulkhead(max_concurrent = 1, name = "reports")]
    /// async fn report() -> Result<String, std::io::Error> {
    ///     Ok("report".into())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let service = ServiceBuilder::new()
    ///     .layer(RecoveryLayer::new().shed_as_unavailable())
    ///     .service_fn(|_: Request<()>| async {
    ///         // Another call holds the only slot: this one is turned away.
    ///         let reports = resilience_runtime::bulkhead::get("reports").unwrap();
    ///         let _held = reports.try_acquire();
    ///         let status = match report().await {
    ///             Ok(_) => StatusCode::OK,
    ///             Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    ///         };
    ///         Ok::<_, Infallible>(Response::builder().status(status).body(()).unwrap())
    ///     });
    /// let _ = report().await; // registers the bulkhead
    /// let response = service.oneshot(Request::new(())).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// assert_eq!(response.headers()["retry-after"], "1");
    /// # let _: Option<BulkheadFull> = None;
    /// # }
    /// ```
    pub const fn shed_as_unavailable(mut self) -> Self {
        self.shed = Some(DEFAULT_RETRY_AFTER);
        self
    }
}

impl<S> Layer<S> for RecoveryLayer {
    type Service = RecoveryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecoveryService {
            inner,
            shed: self.shed,
        }
    }
}

/// The service [`RecoveryLayer`] wraps around another: see the layer.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response, StatusCode};
/// use resilience_runtime::recovery::{RecoveryLayer, RecoveryService};
/// use tower::{Layer as _, service_fn};
///
/// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
/// let service: RecoveryService<_> = RecoveryLayer::new().layer(inner);
/// # let _ = service;
/// ```
#[derive(Debug, Clone)]
pub struct RecoveryService<S> {
    inner: S,
    shed: Option<Duration>,
}

impl<S, RequestBody, ResponseBody> Service<Request<RequestBody>> for RecoveryService<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResponseBody>>,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = RecoveryFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<RequestBody>) -> Self::Future {
        let trace_id = TraceId::from_headers(request.headers()).unwrap_or_else(TraceId::generate);
        let span =
            tracing::info_span!(target: "resilience", "request", trace_id = trace_id.as_str());
        request.extensions_mut().insert(trace_id.clone());
        let response = span.in_scope(|| self.inner.call(request));
        RecoveryFuture {
            inner: scope(response.instrument(span)),
            trace_id: Some(trace_id),
            shed: self.shed,
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RecoveryService`]: the inner response, with
    /// the recovery headers written on it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response, StatusCode};
    /// use resilience_runtime::recovery::{RecoveryFuture, RecoveryLayer};
    /// use tower::{Layer as _, Service as _, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let inner = service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    /// let mut service = RecoveryLayer::new().layer(inner);
    /// let future: RecoveryFuture<_> = service.call(Request::new(()));
    /// let response = future.await.unwrap();
    /// assert_eq!(response.headers()["x-retry-count"], "0");
    /// # }
    /// ```
    #[must_use = "futures do nothing unless awaited"]
    pub struct RecoveryFuture<F: Future> {
        #[pin]
        inner: Scope<Instrumented<F>>,
        trace_id: Option<TraceId>,
        shed: Option<Duration>,
    }
}

impl<F, Body, Error> Future for RecoveryFuture<F>
where
    F: Future<Output = Result<Response<Body>, Error>>,
{
    type Output = Result<Response<Body>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (result, recovery) = ready!(this.inner.poll(cx));
        let trace_id = this.trace_id.take();
        let shed = *this.shed;
        Poll::Ready(result.map(|mut response| {
            if let Some(default) = shed {
                answer_shed_load(&mut response, &recovery, default);
            }
            write_headers(response.headers_mut(), &recovery, trace_id);
            response
        }))
    }
}

impl<F: Future> fmt::Debug for RecoveryFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryFuture")
            .field("trace_id", &self.trace_id)
            .finish_non_exhaustive()
    }
}

/// A `5xx` answer to a request that shed load, and that no fallback or
/// stale value answered: `503` with `Retry-After` in whole seconds,
/// rounded up.
fn answer_shed_load<Body>(response: &mut Response<Body>, recovery: &Recovery, default: Duration) {
    let answered = recovery.fallback_used() || recovery.stale_served > 0;
    if !response.status().is_server_error() || !recovery.shed() || answered {
        return;
    }
    let wait = recovery.retry_after.unwrap_or(default);
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

fn write_headers(headers: &mut HeaderMap, recovery: &Recovery, trace_id: Option<TraceId>) {
    headers.insert(X_RETRY_COUNT, HeaderValue::from(recovery.retries));
    if recovery.fallback_used() {
        headers.insert(X_FALLBACK, HeaderValue::from_static("true"));
    }
    if let Some(age) = recovery.stale_age {
        headers.insert(X_STALE_AGE, HeaderValue::from(age.as_secs()));
    }
    if recovery.chaos_faults > 0 {
        headers.insert(X_CHAOS_FAULTS, HeaderValue::from(recovery.chaos_faults));
    }
    if let Some(trace_id) = trace_id {
        headers.insert(X_TRACE_ID, trace_id.0);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use tower::{Layer as _, ServiceExt as _, service_fn};

    use super::*;

    const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[tokio::test(start_paused = true)]
    async fn headers_carry_what_the_scope_recorded() {
        let inner = service_fn(|request: Request<()>| async move {
            assert!(request.extensions().get::<TraceId>().is_some());
            crate::recovery::retried();
            crate::recovery::retried();
            crate::recovery::fallback_used();
            crate::recovery::stale_served(Duration::from_millis(12_900));
            crate::recovery::chaos_injected();
            crate::recovery::chaos_injected();
            Ok::<_, Infallible>(Response::new(()))
        });
        let request = Request::builder()
            .header("traceparent", TRACEPARENT)
            .body(())
            .unwrap();
        let response = RecoveryLayer::new()
            .layer(inner)
            .oneshot(request)
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-retry-count"], "2");
        assert_eq!(headers["x-fallback"], "true");
        assert_eq!(headers["x-stale-age"], "12");
        assert_eq!(headers["x-chaos-faults"], "2");
        assert_eq!(headers["x-trace-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    fn answering(
        status: StatusCode,
        record: fn(),
    ) -> impl tower_service::Service<
        Request<()>,
        Response = Response<()>,
        Error = Infallible,
        Future = impl Future<Output = Result<Response<()>, Infallible>>,
    > + Clone {
        service_fn(move |_: Request<()>| async move {
            record();
            Ok::<_, Infallible>(Response::builder().status(status).body(()).unwrap())
        })
    }

    async fn through(layer: RecoveryLayer, status: StatusCode, record: fn()) -> Response<()> {
        layer
            .layer(answering(status, record))
            .oneshot(Request::new(()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_shed_error_answer_becomes_503_with_the_breaker_s_wait() {
        let shedding = RecoveryLayer::new().shed_as_unavailable();
        let open = || crate::recovery::breaker_rejected(Duration::from_millis(12_300));
        let response = through(shedding, StatusCode::INTERNAL_SERVER_ERROR, open).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "13", "rounded up");

        let full = crate::recovery::bulkhead_rejected;
        let response = through(shedding, StatusCode::BAD_GATEWAY, full).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "1", "the default");

        let refused = crate::recovery::budget_refused;
        let response = through(shedding, StatusCode::INTERNAL_SERVER_ERROR, refused).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn answers_that_did_not_come_from_a_refusal_are_left_as_they_are() {
        let shedding = RecoveryLayer::new().shed_as_unavailable();
        let full = crate::recovery::bulkhead_rejected;
        // Not an error: the handler answered anyway.
        let response = through(shedding, StatusCode::OK, full).await;
        assert_eq!(response.status(), StatusCode::OK);
        // An error, but nothing was refused.
        let response = through(shedding, StatusCode::INTERNAL_SERVER_ERROR, || ()).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // A fallback answered after the refusal.
        let answered = || {
            crate::recovery::bulkhead_rejected();
            crate::recovery::fallback_used();
        };
        let response = through(shedding, StatusCode::INTERNAL_SERVER_ERROR, answered).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // Not opted in.
        let response = through(
            RecoveryLayer::new(),
            StatusCode::INTERNAL_SERVER_ERROR,
            full,
        )
        .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get("retry-after").is_none());
    }

    #[tokio::test]
    async fn a_healthy_request_gets_a_zero_count_and_a_new_trace_id() {
        let inner = service_fn(|request: Request<()>| async move {
            let id = request.extensions().get::<TraceId>().cloned();
            Ok::<_, Infallible>(Response::new(id))
        });
        let response = RecoveryLayer::new()
            .layer(inner)
            .oneshot(Request::new(()))
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-retry-count"], "0");
        assert!(headers.get("x-fallback").is_none());
        assert!(headers.get("x-stale-age").is_none());
        assert!(headers.get("x-chaos-faults").is_none());
        let given = response.body().as_ref().unwrap().as_str();
        assert_eq!(headers["x-trace-id"], given, "the handler saw the same id");
    }
}
