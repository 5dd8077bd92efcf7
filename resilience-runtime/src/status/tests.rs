//! The routes as a client meets them, through the tower service.

use http::{Method, Request, Response, StatusCode};
use tower::ServiceExt as _;

use super::StatusService;
use crate::breaker::{BreakerConfig, State, registry};
use crate::stale_cache::{CacheConfig, StaleCache};
use crate::test_events;

async fn send(
    status: &StatusService,
    method: Method,
    path: &str,
    token: Option<&str>,
) -> Response<String> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    status
        .clone()
        .oneshot(request.body(()).unwrap())
        .await
        .unwrap()
}

fn json(response: &Response<String>) -> serde_json::Value {
    serde_json::from_str(response.body()).expect("JSON")
}

#[tokio::test]
async fn without_a_token_the_controls_are_not_there() {
    let breaker = registry().get_or_register("status-no-token", BreakerConfig::new());
    let status = StatusService::new("/resilience");
    for token in [None, Some("anything")] {
        let response = send(
            &status,
            Method::POST,
            "/resilience/breakers/status-no-token/open",
            token,
        )
        .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(breaker.state(), State::Closed);
    let snapshot = json(&send(&status, Method::GET, "/resilience.json", None).await);
    assert_eq!(snapshot["controls"], false);
    // An empty token is no token.
    let status = status.admin_token("");
    let response = send(
        &status,
        Method::POST,
        "/resilience/breakers/status-no-token/open",
        Some(""),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_missing_or_wrong_token_is_refused_and_changes_nothing() {
    let breaker = registry().get_or_register("status-tokens", BreakerConfig::new());
    let status = StatusService::new("/resilience").admin_token("s3cret-token");
    for token in [None, Some("s3cret"), Some("s3cret-token2"), Some("")] {
        let response = send(
            &status,
            Method::POST,
            "/resilience/breakers/status-tokens/open",
            token,
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(breaker.state(), State::Closed);
    }
    let response = send(
        &status,
        Method::GET,
        "/resilience/breakers/status-tokens/open",
        Some("s3cret-token"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.body(),
        "this route takes POST",
        "says what to send"
    );
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn the_right_token_opens_and_closes_and_each_change_is_an_event() {
    let breaker = registry().get_or_register("status-by-hand", BreakerConfig::new());
    let status = StatusService::new("/ops/").admin_token("s3cret");
    test_events::record_events();

    let opened = send(
        &status,
        Method::POST,
        "/ops/breakers/status-by-hand/open",
        Some("s3cret"),
    )
    .await;
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(breaker.state(), State::Open);
    let rows = json(&opened);
    assert_eq!(rows[0]["name"], "status-by-hand");
    assert_eq!(rows[0]["state"], "open");

    let snapshot = json(&send(&status, Method::GET, "/ops.json", None).await);
    let row = snapshot["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "status-by-hand")
        .unwrap();
    assert_eq!(
        (&row["state"], &row["origin"]),
        (&"open".into(), &"local".into())
    );
    assert!(row["next_probe_ms"].as_u64().unwrap() <= 60_000);

    let closed = send(
        &status,
        Method::POST,
        "/ops/breakers/status-by-hand/close",
        Some("s3cret"),
    )
    .await;
    assert_eq!(closed.status(), StatusCode::OK);
    assert_eq!(breaker.state(), State::Closed);

    let changes: Vec<_> = test_events::recorded_events()
        .into_iter()
        .filter(|event| event.fields.get("breaker").map(String::as_str) == Some("status-by-hand"))
        .filter_map(|event| event.fields.get("action").cloned())
        .collect();
    assert_eq!(changes, ["open", "close"]);
}

#[tokio::test]
async fn a_keyed_breaker_is_named_by_its_key_percent_encoded() {
    let hosts =
        registry().get_or_register_keyed::<String>("status-hosts", BreakerConfig::new(), 16);
    hosts.breaker("a b/c".to_owned());
    hosts.breaker("other".to_owned());
    let status = StatusService::new("/resilience").admin_token("s3cret");
    let response = send(
        &status,
        Method::POST,
        "/resilience/breakers/status-hosts/open?key=%22a%20b%2Fc%22",
        Some("s3cret"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(hosts.breaker("a b/c".to_owned()).state(), State::Open);
    assert_eq!(hosts.breaker("other".to_owned()).state(), State::Closed);
    let needs_key = send(
        &status,
        Method::POST,
        "/resilience/breakers/status-hosts/open",
        Some("s3cret"),
    )
    .await;
    assert_eq!(needs_key.status(), StatusCode::BAD_REQUEST);
    let unknown = send(
        &status,
        Method::POST,
        "/resilience/breakers/status-none/open",
        Some("s3cret"),
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let bad_action = send(
        &status,
        Method::POST,
        "/resilience/breakers/status-hosts/explode",
        Some("s3cret"),
    )
    .await;
    assert_eq!(bad_action.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_json_lists_caches_by_function_and_never_their_values() {
    let cache: StaleCache<String, String> = StaleCache::new(CacheConfig::new());
    let _ = cache
        .request("user-7".to_owned(), "status::tests::profile")
        .load(async { Ok::<_, ()>("secret-value".to_owned()) })
        .await;
    let response = send(&StatusService::new("/r"), Method::GET, "/r.json", None).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let snapshot = json(&response);
    let row = snapshot["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["function"] == "status::tests::profile")
        .unwrap();
    assert_eq!(
        (row["entries"].as_u64(), row["miss"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(!response.body().contains("secret-value"));
    assert!(!response.body().contains("user-7"));
}

#[tokio::test]
async fn the_page_is_self_contained_and_knows_its_prefix() {
    let status = StatusService::new("/ops/resilience");
    let page = send(&status, Method::GET, "/ops/resilience", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"));
    let body = page.body();
    assert!(body.contains("const PREFIX = \"/ops/resilience\";"));
    for external in [
        "src=\"http",
        "href=\"http",
        "@import",
        "url(http",
        "fonts.googleapis",
    ] {
        assert!(!body.contains(external), "the page loads {external}");
    }
    let post = send(&status, Method::POST, "/ops/resilience", None).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    for elsewhere in ["/ops", "/ops/resiliencex", "/ops/resilience/other", "/"] {
        let response = send(&status, Method::GET, elsewhere, None).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{elsewhere}");
    }
}

#[test]
fn a_prefix_cannot_break_out_of_the_script() {
    let page = super::service::page("/x</script><script>alert(1)");
    assert!(!page.body().contains("</script><script>alert(1)"));
    assert!(
        page.body()
            .contains(r#"const PREFIX = "/x<\/script><script>alert(1)";"#)
    );
}

#[tokio::test]
async fn a_change_by_hand_names_the_caller_address() {
    registry().get_or_register("status-caller", BreakerConfig::new());
    let status = StatusService::new("/resilience").admin_token("s3cret");
    test_events::record_events();
    let mut request = Request::post("/resilience/breakers/status-caller/open")
        .header("authorization", "Bearer s3cret")
        .body(())
        .unwrap();
    let caller: std::net::SocketAddr = "192.0.2.7:41000".parse().unwrap();
    request.extensions_mut().insert(caller);
    let response = status.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let event = test_events::recorded_events()
        .into_iter()
        .find(|event| {
            event.fields.get("breaker").map(String::as_str) == Some("status-caller")
                && event.fields.contains_key("action")
        })
        .expect("an event for the change by hand");
    assert_eq!(event.level, tracing::Level::WARN);
    assert_eq!(event.fields["caller"], "192.0.2.7:41000");
}

#[cfg(feature = "chaos")]
#[tokio::test]
async fn chaos_is_switched_on_and_off_by_hand_with_the_token() {
    use crate::chaos;

    chaos::register_error("status::tests::upstream", || "injected");
    let status = StatusService::new("/resilience").admin_token("s3cret");
    let route = "/resilience/chaos/status::tests::upstream";
    let start = format!("{route}?errors=0.5&latency_ms=20&seed=9");

    let refused = send(&status, Method::POST, &start, Some("guess")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let listed = |target: &str| chaos::injections().iter().any(|(t, _)| t == target);
    assert!(!listed("status::tests::upstream"));

    test_events::record_events();
    let started = send(&status, Method::POST, &start, Some("s3cret")).await;
    assert_eq!(started.status(), StatusCode::OK, "{}", started.body());
    assert_eq!(json(&started)["latency_ms"], 20);
    let snapshot = json(&send(&status, Method::GET, "/resilience.json", None).await);
    let row = snapshot["chaos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["target"] == "status::tests::upstream")
        .expect("listed in the JSON");
    assert_eq!(
        (row["errors"].as_f64(), row["seed"].as_u64()),
        (Some(0.5), Some(9))
    );

    let stopped = send(&status, Method::DELETE, route, Some("s3cret")).await;
    assert_eq!(stopped.status(), StatusCode::OK);
    assert!(!listed("status::tests::upstream"));
    let changes: Vec<_> = test_events::recorded_events()
        .into_iter()
        .filter(|event| {
            event.fields.get("chaos_target").map(String::as_str) == Some("status::tests::upstream")
        })
        .map(|event| event.fields["action"].clone())
        .collect();
    assert_eq!(
        changes,
        ["inject", "stop"],
        "each change by hand is an event"
    );
    let again = send(&status, Method::DELETE, route, Some("s3cret")).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let get = send(&status, Method::GET, route, Some("s3cret")).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers()["allow"], "POST, DELETE");
}

#[cfg(feature = "chaos")]
#[tokio::test]
async fn a_chaos_route_refuses_what_inject_refuses_and_says_why() {
    let status = StatusService::new("/resilience").admin_token("s3cret");
    for (query, reason) in [
        (
            "/resilience/chaos/status::tests::unregistered?errors=1",
            "register",
        ),
        ("/resilience/chaos/status::tests::any?hangs=2", "hangs"),
        (
            "/resilience/chaos/status::tests::any?errors=lots",
            "`errors` must be a number",
        ),
        (
            "/resilience/chaos/status::tests::any?latency=5",
            "unknown field `latency`",
        ),
    ] {
        let refused = send(&status, Method::POST, query, Some("s3cret")).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(
            refused.body().contains(reason),
            "{query}: {}",
            refused.body()
        );
    }
    // Stopping every injection is guarded as the rest (it is not run here:
    // it would stop the injections of the tests running beside this one).
    let unauthorised = send(&status, Method::DELETE, "/resilience/chaos", Some("guess")).await;
    assert_eq!(unauthorised.status(), StatusCode::UNAUTHORIZED);
    let post = send(&status, Method::POST, "/resilience/chaos", Some("s3cret")).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[cfg(not(feature = "chaos"))]
#[tokio::test]
async fn without_the_chaos_feature_a_chaos_route_says_how_to_turn_it_on() {
    let status = StatusService::new("/resilience").admin_token("s3cret");
    let refused = send(
        &status,
        Method::POST,
        "/resilience/chaos/app::f?errors=1",
        Some("s3cret"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused.body().contains("`chaos` feature"),
        "{}",
        refused.body()
    );
}
