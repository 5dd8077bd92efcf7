//! The Python twins of `examples/`: each pins its observable sequence for a
//! fixed failure schedule, on paused time.

use resilience_examples::twins::http_retry::{HttpError, OrdersClient, run};

#[tokio::test(start_paused = true)]
async fn http_retry_retries_5xx_with_exponential_backoff_and_never_a_4xx() {
    let client = OrdersClient::new([
        Some(503),
        Some(503),
        None,
        Some(404),
        Some(503),
        Some(502),
        Some(500),
        None,
    ]);
    let reports = run(&client, &[1, 2, 3, 4]).await;
    let summary: Vec<_> = reports
        .iter()
        .map(|r| (r.order_id, r.outcome.clone(), r.requests))
        .collect();
    assert_eq!(
        summary,
        [
            (1, Ok("order 1".to_string()), 3),
            (2, Err(HttpError(404)), 1),
            (3, Err(HttpError(500)), 3),
            (4, Ok("order 4".to_string()), 1),
        ]
    );
    // 0.5 s then 1 s between attempts; the 404 and the healthy call wait for nothing.
    assert_eq!(
        *client.sent_at_ms.lock().unwrap(),
        [0, 500, 1500, 1500, 1500, 2000, 3000, 3000]
    );
}
