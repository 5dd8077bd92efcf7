//! [`RecoveryLayer`]: a recovery scope per HTTP request, written on the
//! response as headers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument as _;
use tracing::instrument::Instrumented;

use super::trace_id::X_TRACE_ID;
use super::{Recovery, Scope, TraceId, scope};

const X_RETRY_COUNT: HeaderName = HeaderName::from_static("x-retry-count");
const X_FALLBACK: HeaderName = HeaderName::from_static("x-fallback");
const X_STALE_AGE: HeaderName = HeaderName::from_static("x-stale-age");

/// A tower layer that runs each request in a recovery [`scope`] and writes
/// what happened on the response (available with the `tower` feature):
///
/// | header | value | when |
/// | --- | --- | --- |
/// | `X-Retry-Count` | retries made by `#[retry]` while serving the request | always (`0` when none) |
/// | `X-Fallback` | `true` | a `#[fallback]` function answered |
/// | `X-Stale-Age` | age in whole seconds of the oldest stale value served | `#[stale_cache]` served a stale value |
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
/// use http::{Request, Response};
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
#[derive(Debug, Clone, Copy, Default)]
pub struct RecoveryLayer {
    _private: (),
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
        Self { _private: () }
    }
}

impl<S> Layer<S> for RecoveryLayer {
    type Service = RecoveryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecoveryService { inner }
    }
}

/// The service [`RecoveryLayer`] wraps around another: see the layer.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
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
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RecoveryService`]: the inner response, with
    /// the recovery headers written on it.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use http::{Request, Response};
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
        Poll::Ready(result.map(|mut response| {
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

fn write_headers(headers: &mut HeaderMap, recovery: &Recovery, trace_id: Option<TraceId>) {
    headers.insert(X_RETRY_COUNT, HeaderValue::from(recovery.retries));
    if recovery.fallback_used() {
        headers.insert(X_FALLBACK, HeaderValue::from_static("true"));
    }
    if let Some(age) = recovery.stale_age {
        headers.insert(X_STALE_AGE, HeaderValue::from(age.as_secs()));
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
        assert_eq!(headers["x-trace-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
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
        let given = response.body().as_ref().unwrap().as_str();
        assert_eq!(headers["x-trace-id"], given, "the handler saw the same id");
    }
}
