//! The tenacity classic: an HTTP call retried three times with exponential
//! backoff from 0.5 s, never retrying a 4xx.
//!
//! ```text
//! cargo run --example http_retry
//! ```

use resilience_examples::twins::http_retry::{OrdersClient, STORY, run};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Order 1: two 503s, then 200. Order 2: 404 (not retried).
    // Order 3: 503, 502, 500 (gives up). Order 4: 200 at once.
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
    for report in run(&client, &[1, 2, 3, 4]).await {
        println!("{report}");
    }
    println!(
        "requests sent at (ms): {:?}",
        client.sent_at_ms.lock().unwrap()
    );
}
