//! Rehearsing an outage of the example HTTP service, over real HTTP on a
//! loopback port (issue 27): 100 % injected errors into its upstream
//! function, the breaker opening, the stale value and the fallback
//! answering — each response saying it met injected faults — then the
//! injection stopped and the next probe closing the breaker. The
//! injection is switched on and off as an operator does, through the
//! status page's control routes with the admin token. On paused time: the
//! breaker's 10 s open period passes at once.

use std::time::Duration;

use http::{Method, StatusCode};
use resilience_examples::http_service::{BREAKER, LIVE_FUNCTION};

#[path = "served.rs"]
mod served;
use served::Served;

/// The admin token of the service's control routes.
const TOKEN: &str = "rehearsal-admin-token-7c1e9a";

/// The value of `name{labels}` in `/metrics`, if present.
async fn sample(service: &Served, name: &str, labels: &str) -> Option<f64> {
    let metrics = service.get("/metrics", &[]).await.body;
    let series = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map(|value| value.parse().unwrap())
}

#[tokio::test(start_paused = true)]
async fn an_injected_outage_opens_the_breaker_and_the_service_still_answers() {
    let service = Served::start(0.0, TOKEN).await;

    // Before: 1 is loaded and cached (fresh for 5 s).
    let healthy = service.get("/profile/1", &[]).await;
    assert_eq!(healthy.body, "profile 1: User 1 (upstream)\n");
    assert_eq!(healthy.header("x-chaos-faults"), None);

    // The rehearsal, started by hand: every attempt of the upstream
    // function fails, with the error the service registered.
    let chaos = format!("/resilience/chaos/{LIVE_FUNCTION}");
    let started = service
        .control(
            Method::POST,
            &format!("{chaos}?errors=1&seed=27"),
            Some(TOKEN),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let status = service.get("/resilience.json", &[]).await.body;
    assert!(
        status.contains(&format!(
            "\"chaos\":[{{\"target\":\"{LIVE_FUNCTION}\",\"errors\":1.0"
        )),
        "{status}"
    );
    let calls = service.upstream.calls();

    // 1 has expired: its refresh fails 3 times, the stale value answers.
    tokio::time::advance(Duration::from_secs(6)).await;
    let stale = service.get("/profile/1", &[]).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, "profile 1: User 1 (upstream)\n");
    assert_eq!(stale.header("x-stale-age"), Some("6"));
    assert_eq!(stale.header("x-retry-count"), Some("2"));
    assert_eq!(stale.header("x-chaos-faults"), Some("3"), "3 attempts");

    // Nothing cached for 2 and 3: the fallback answers; the third failed
    // call of four opens the breaker.
    for id in [2, 3] {
        let fallback = service.get(&format!("/profile/{id}"), &[]).await;
        assert_eq!(
            fallback.body,
            format!("profile {id}: Guest {id} (placeholder)\n")
        );
        assert_eq!(fallback.header("x-fallback"), Some("true"));
        assert_eq!(fallback.header("x-chaos-faults"), Some("3"));
    }
    let state = format!("breaker=\"{BREAKER}\"");
    let open = sample(&service, "breakers_state", &state).await;
    assert_eq!(open, Some(1.0), "open");
    let injected = format!("target=\"{LIVE_FUNCTION}\",fault=\"error\"");
    let count = sample(&service, "chaos_injections_total", &injected).await;
    assert_eq!(count, Some(9.0));

    // Open: answered without a call, so without a fault met.
    let rejected = service.get("/profile/4", &[]).await;
    assert_eq!(rejected.header("x-fallback"), Some("true"));
    assert_eq!(rejected.header("x-chaos-faults"), None);
    let live = service.get("/profile/5/live", &[]).await;
    assert_eq!(live.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(service.upstream.calls(), calls, "the body never ran");

    // The rehearsal ends by hand: after open_for, the probe closes the
    // breaker.
    let stopped = service.control(Method::DELETE, &chaos, Some(TOKEN)).await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert_eq!(stopped.body, "[]", "no injection left");
    tokio::time::advance(Duration::from_secs(10)).await;
    let probe = service.get("/profile/5/live", &[]).await;
    assert_eq!(probe.status, StatusCode::OK, "{}", probe.body);
    assert_eq!(probe.header("x-chaos-faults"), None);
    let closed = sample(&service, "breakers_state", &state).await;
    assert_eq!(closed, Some(0.0), "closed");
    assert_eq!(service.upstream.calls(), calls + 1);

    // Every injection at once: a latency into the breaker, then all stopped.
    let slow = format!("/resilience/chaos/{BREAKER}?latency_ms=50");
    assert_eq!(
        service
            .control(Method::POST, &slow, Some(TOKEN))
            .await
            .status,
        StatusCode::OK
    );
    let all = service
        .control(Method::DELETE, "/resilience/chaos", Some(TOKEN))
        .await;
    assert_eq!((all.status, all.body.as_str()), (StatusCode::OK, "[]"));
}
