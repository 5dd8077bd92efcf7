//! The example HTTP service, served in-process on a free loopback port and
//! called with a real HTTP client: the recovery headers of each response,
//! the `/metrics` the requests produced, and the status page's JSON and
//! controls.
//!
//! The metrics recorder is process-wide and the breaker and cache of
//! `fetch_profile` are too, so one test owns the service and tells its story
//! in order; the other tests of this binary use other names.

use std::time::Duration;

use http::{Method, StatusCode};
use resilience_examples::http_service::{BREAKER, FUNCTION, LIVE_FUNCTION};

use crate::served::{Answer, Served};

/// The token the service's control routes answer to.
const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// `GET /profile/{id}`, and the upstream calls it made.
async fn profile(service: &Served, id: u64, headers: &[(&str, &str)]) -> (Answer, u64) {
    let before = service.upstream.calls();
    let answer = service.get(&format!("/profile/{id}"), headers).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    (answer, service.upstream.calls() - before)
}

async fn rendered_metrics(service: &Served) -> String {
    let answer = service.get("/metrics", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.body
}

/// The value of the series `name{labels}` (exactly those labels), if present.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
            let found: Vec<(&str, &str)> = rest
                .strip_suffix('}')?
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(key, value)| (key, value.trim_matches('"')))
                .collect();
            let same = metric == name
                && found.len() == labels.len()
                && labels.iter().all(|label| found.contains(label));
            same.then(|| value.parse().ok()).flatten()
        })
}

fn cache_requests(metrics: &str, outcome: &str) -> Option<f64> {
    sample(
        metrics,
        "stale_cache_requests_total",
        &[("function", FUNCTION), ("outcome", outcome)],
    )
}

fn breaker_calls(metrics: &str, outcome: &str) -> Option<f64> {
    sample(
        metrics,
        "breaker_calls_total",
        &[("breaker", BREAKER), ("outcome", outcome)],
    )
}

#[tokio::test(start_paused = true)]
async fn every_recovery_shows_in_the_headers_and_in_metrics() {
    let service = Served::start(0.0, ADMIN_TOKEN).await;

    // Healthy: one upstream call, no retry, no fallback, a new trace id.
    let (healthy, calls) = profile(&service, 1, &[]).await;
    assert_eq!(calls, 1);
    assert_eq!(healthy.body, "profile 1: User 1 (upstream)\n");
    assert_eq!(healthy.header("x-retry-count"), Some("0"));
    assert_eq!(healthy.header("x-fallback"), None);
    assert_eq!(healthy.header("x-stale-age"), None);
    let generated = healthy.header("x-trace-id").unwrap();
    assert_eq!(generated.len(), 32, "{generated}");

    // The breaker's state exists from its first call on, before any transition.
    let metrics = rendered_metrics(&service).await;
    assert_eq!(
        sample(&metrics, "breakers_state", &[("breaker", BREAKER)]),
        Some(0.0),
        "{metrics}"
    );

    // A fresh cache hit; the caller's trace id comes back unchanged.
    let (fresh, calls) = profile(&service, 1, &[("x-trace-id", "checkout-7f3a")]).await;
    assert_eq!(calls, 0);
    assert_eq!(fresh.header("x-trace-id"), Some("checkout-7f3a"));
    assert_eq!(fresh.header("x-retry-count"), Some("0"));
    assert_eq!(fresh.header("x-fallback"), None);

    // ... and so does the trace id of a W3C traceparent.
    let (traced, _) = profile(
        &service,
        1,
        &[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )],
    )
    .await;
    assert_eq!(
        traced.header("x-trace-id"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );

    // The upstream fails from now on.
    service.upstream.set_failure_rate(1.0);

    // Nothing cached for 2: three attempts, then the fallback.
    let (fallback, calls) = profile(&service, 2, &[]).await;
    assert_eq!(calls, 3);
    assert_eq!(fallback.body, "profile 2: Guest 2 (placeholder)\n");
    assert_eq!(fallback.header("x-retry-count"), Some("2"), "retries made");
    assert_eq!(fallback.header("x-fallback"), Some("true"));
    assert_eq!(fallback.header("x-stale-age"), None);

    // 1 has expired (maxage 5 s): the refresh fails, the stale value answers.
    tokio::time::advance(Duration::from_secs(6)).await;
    let (stale, calls) = profile(&service, 1, &[]).await;
    assert_eq!(calls, 3);
    assert_eq!(stale.body, "profile 1: User 1 (upstream)\n");
    assert_eq!(stale.header("x-retry-count"), Some("2"));
    assert_eq!(stale.header("x-fallback"), None);
    assert_eq!(stale.header("x-stale-age"), Some("6"), "whole seconds");

    // A third failed call of four in the window opens the breaker.
    let (opening, calls) = profile(&service, 3, &[]).await;
    assert_eq!(calls, 3);
    assert_eq!(opening.header("x-retry-count"), Some("2"));
    assert_eq!(opening.header("x-fallback"), Some("true"));

    // Open: no upstream call, no retry; the fallback answers ...
    let (rejected, calls) = profile(&service, 4, &[]).await;
    assert_eq!(calls, 0);
    assert_eq!(rejected.header("x-retry-count"), Some("0"));
    assert_eq!(rejected.header("x-fallback"), Some("true"));
    // ... or the stale value, where there is one.
    let (stale_while_open, calls) = profile(&service, 1, &[]).await;
    assert_eq!(calls, 0);
    assert_eq!(stale_while_open.header("x-fallback"), None);
    assert_eq!(stale_while_open.header("x-stale-age"), Some("6"));

    let metrics = rendered_metrics(&service).await;
    let retries = sample(
        &metrics,
        "retry_attempts_total",
        &[("function", LIVE_FUNCTION)],
    );
    assert_eq!(retries, Some(6.0), "3 failed calls x 2 retries\n{metrics}");
    let state = sample(&metrics, "breakers_state", &[("breaker", BREAKER)]);
    assert_eq!(state, Some(1.0), "open");
    assert_eq!(breaker_calls(&metrics, "success"), Some(1.0));
    assert_eq!(breaker_calls(&metrics, "failure"), Some(3.0));
    assert_eq!(breaker_calls(&metrics, "rejected"), Some(2.0));
    let fallbacks = sample(
        &metrics,
        "fallback_invocations_total",
        &[("function", FUNCTION)],
    );
    assert_eq!(fallbacks, Some(3.0));
    assert_eq!(cache_requests(&metrics, "miss"), Some(1.0));
    assert_eq!(cache_requests(&metrics, "fresh"), Some(2.0));
    assert_eq!(cache_requests(&metrics, "stale"), Some(2.0));
    assert_eq!(cache_requests(&metrics, "error"), Some(3.0));
    assert_eq!(cache_requests(&metrics, "refreshed"), Some(0.0));

    // The live route has no cache and no fallback: while the breaker is
    // open it answers 503, with the seconds until the next probe.
    let before = service.upstream.calls();
    let live = service.get("/profile/5/live", &[]).await;
    assert_eq!(service.upstream.calls(), before, "not called");
    assert_eq!(
        live.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        live.body
    );
    assert_eq!(
        live.header("retry-after"),
        Some("10"),
        "open_for 10 s, just opened"
    );
    assert!(live.body.contains("profile-service"), "{}", live.body);
    tokio::time::advance(Duration::from_secs(4)).await;
    let live = service.get("/profile/5/live", &[]).await;
    assert_eq!(live.header("retry-after"), Some("6"));

    // A probe after open_for closes it: the live route answers again.
    service.upstream.set_failure_rate(0.0);
    tokio::time::advance(Duration::from_secs(6)).await;
    let live = service.get("/profile/5/live", &[]).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    assert_eq!(live.body, "profile 5: User 5 (upstream)\n");
    assert_eq!(live.header("retry-after"), None);

    // The status page: its JSON shows the breaker closed again ...
    let page = service.get("/resilience", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("resilience status"));
    let status: serde_json::Value =
        serde_json::from_str(&service.get("/resilience.json", &[]).await.body).unwrap();
    let row = status["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == BREAKER)
        .expect("the breaker is listed");
    assert_eq!(
        (&row["state"], &row["origin"]),
        (&"closed".into(), &"local".into())
    );
    let cache = status["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["function"] == FUNCTION)
        .expect("the cache is listed");
    assert_eq!(cache["stale"], 2);
    let oldest = cache["oldest_stale_ms"].as_u64().unwrap();
    assert!(
        (6_000..7_000).contains(&oldest),
        "X-Stale-Age said 6 s: {oldest} ms"
    );
    let retried = status["retries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["function"] == LIVE_FUNCTION)
        .expect("the retried function is listed");
    assert_eq!(retried["retries"], 6, "as retry_attempts_total counted");
    assert_eq!(status["controls"], true);

    // ... only the right token opens it by hand ...
    let open = format!("/resilience/breakers/{BREAKER}/open");
    for wrong in [None, Some("guess"), Some("test-admin-token")] {
        let refused = service.control(Method::POST, &open, wrong).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let (healthy, calls) = profile(&service, 6, &[]).await;
    assert_eq!(
        (calls, healthy.header("x-fallback")),
        (1, None),
        "still closed"
    );
    let opened = service
        .control(Method::POST, &open, Some(ADMIN_TOKEN))
        .await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.body);

    // ... and the next request is answered by the fallback, the upstream
    // healthy as it is ...
    let (by_hand, calls) = profile(&service, 7, &[]).await;
    assert_eq!(calls, 0);
    assert_eq!(by_hand.header("x-fallback"), Some("true"));

    // ... until it is closed by hand.
    let close = format!("/resilience/breakers/{BREAKER}/close");
    let closed = service
        .control(Method::POST, &close, Some(ADMIN_TOKEN))
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    let (again, calls) = profile(&service, 7, &[]).await;
    assert_eq!((calls, again.header("x-fallback")), (1, None));
}
