//! Twin of the tenacity classic: an HTTP call retried three times with
//! exponential backoff from 0.5 s, that never retries a 4xx.
//!
//! ```python
//! @retry(stop=stop_after_attempt(3),
//!        wait=wait_exponential(multiplier=0.5),
//!        retry=retry_if_exception(lambda e: e.response.status_code >= 500))
//! def get_order(order_id): ...
//! ```

use std::fmt;

use resilience_runtime::retry;
use tokio::time::Instant;

use super::Schedule;

/// An HTTP error status.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpError(pub u16);

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.0)
    }
}

/// 5xx (and 429) may pass; a 4xx will not, however often it is asked.
pub fn is_retryable(error: &HttpError) -> bool {
    error.0 >= 500 || error.0 == 429
}

/// The example's story: order 1 gets two 503s then 200; order 2 a 404 (not
/// retried); order 3 503, 502, 500 (gives up); order 4 200 at once.
pub const STORY: [Option<u16>; 8] = [
    Some(503),
    Some(503),
    None,
    Some(404),
    Some(503),
    Some(502),
    Some(500),
    None,
];

/// The client: each request answers from its schedule.
pub struct OrdersClient {
    /// Statuses of failed requests, in order; `None` means 200.
    pub upstream: Schedule<Option<u16>>,
    started: Instant,
    /// When each request was sent, in ms since the client was made.
    pub sent_at_ms: std::sync::Mutex<Vec<u128>>,
}

impl OrdersClient {
    /// A client whose requests answer `statuses` in order (`None` = 200 OK).
    pub fn new(statuses: impl IntoIterator<Item = Option<u16>>) -> Self {
        OrdersClient {
            upstream: Schedule::new(statuses),
            started: Instant::now(),
            sent_at_ms: Default::default(),
        }
    }

    /// `GET /orders/{id}`: three attempts, waits of 0.5 s then 1 s, no 4xx retried.
    #[retry(max = 3, backoff = "exp", delay = 0.5, jitter = "none", when = is_retryable)]
    pub async fn get_order(&self, order_id: u32) -> Result<String, HttpError> {
        self.sent_at_ms
            .lock()
            .unwrap()
            .push(self.started.elapsed().as_millis());
        match self.upstream.next().flatten() {
            Some(status) => Err(HttpError(status)),
            None => Ok(format!("order {order_id}")),
        }
    }
}

/// What one `get_order` call did.
#[derive(Debug, PartialEq)]
pub struct Report {
    pub order_id: u32,
    pub outcome: Result<String, HttpError>,
    pub requests: u32,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tries = if self.requests == 1 {
            "1 request".to_string()
        } else {
            format!("{} requests", self.requests)
        };
        match &self.outcome {
            Ok(order) => write!(f, "order {}: {order} after {tries}", self.order_id),
            Err(error) => write!(
                f,
                "order {}: failed with {error} after {tries}",
                self.order_id
            ),
        }
    }
}

/// Fetches each order in turn and reports what each call did.
pub async fn run(client: &OrdersClient, order_ids: &[u32]) -> Vec<Report> {
    let mut reports = Vec::new();
    for &order_id in order_ids {
        let before = client.upstream.calls();
        let outcome = client.get_order(order_id).await;
        reports.push(Report {
            order_id,
            outcome,
            requests: client.upstream.calls() - before,
        });
    }
    reports
}
