//! The tenacity classic: an HTTP call retried three times with exponential
//! backoff from 0.5 s, never retrying a 4xx.
//!
//! ```text
//! cargo run --example http_retry
//! ```

use resilience_examples::twins::http_retry::{OrdersClient, STORY, run};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = OrdersClient::new(STORY);
    for report in run(&client, &[1, 2, 3, 4]).await {
        println!("{report}");
    }
    println!(
        "requests sent at (ms): {:?}",
        client.sent_at_ms.lock().unwrap()
    );
}
