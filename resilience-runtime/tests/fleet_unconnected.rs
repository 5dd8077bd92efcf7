//! `shared = true` with no fleet connected (a process of its own, since the
//! process's fleet is connected once and for good): the attributes behave
//! as local ones, and say so once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use resilience_runtime::breaker::{Origin, State, registry};
use resilience_runtime::{CircuitOpen, breaker, stale_cache};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Debug)]
enum ApiError {
    Down,
    Open(#[allow(dead_code)] CircuitOpen),
}

impl From<CircuitOpen> for ApiError {
    fn from(open: CircuitOpen) -> Self {
        ApiError::Open(open)
    }
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[stale_cache(maxage = 60, tolerance = 120, shared = true)]
async fn fetch_user_profile(user_id: u64) -> Result<String, ApiError> {
    CALLS.fetch_add(1, SeqCst);
    Ok(format!("user {user_id}"))
}

#[breaker(name = "unconnected-payments", shared = true, min_calls = 2)]
fn charge(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Down) } else { Ok(1) }
}

/// Counts the warnings that say no fleet is connected.
struct Unconnected(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for Unconnected {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Message(bool);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 |= format!("{value:?}").contains("no fleet is connected");
                }
            }
        }
        let mut message = Message(false);
        event.record(&mut message);
        if *event.metadata().level() == tracing::Level::WARN && message.0 {
            self.0.fetch_add(1, SeqCst);
        }
    }
}

#[tokio::test]
async fn shared_attributes_without_a_fleet_run_local_only_and_say_so_once() {
    let told = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(Unconnected(Arc::clone(&told)));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    for user in [1, 2, 1, 3, 1] {
        assert_eq!(
            fetch_user_profile(user).await.unwrap(),
            format!("user {user}")
        );
    }
    assert_eq!(CALLS.load(SeqCst), 3, "cached locally: one call per key");

    assert!(charge(true).is_err());
    assert!(charge(true).is_err());
    let breaker = registry().get("unconnected-payments").unwrap();
    assert_eq!(
        (breaker.state(), breaker.origin()),
        (State::Open, Origin::Local)
    );
    assert!(matches!(charge(false), Err(ApiError::Open(_))));

    assert_eq!(told.load(SeqCst), 1, "one warning for the process");
}
