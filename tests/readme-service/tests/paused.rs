//! Tests on a paused tokio clock, with the README's `[dev-dependencies]`.

use std::time::Duration;

use readme_service::{INVENTORY, PROFILES, fetch_user_profile, read_file, refresh_inventory};
use resilience_runtime::{CircuitOpen, breaker};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn async_retries_wait_on_the_paused_clock() {
    PROFILES.set_failures(2);
    let started = Instant::now();
    let profile = fetch_user_profile("7".to_string()).await.unwrap();
    assert_eq!(profile.name, "user 7");
    assert_eq!(PROFILES.calls(), 3, "two failures, then success");
    // Two waits of the "exp" backoff from 0.5 s, with jitter: at least 0.75 s.
    assert!(
        started.elapsed() >= Duration::from_millis(750),
        "{:?}",
        started.elapsed()
    );

    INVENTORY.set_failures(1);
    let real = std::time::Instant::now();
    assert_eq!(refresh_inventory(3).await, Ok(300));
    assert!(
        real.elapsed() < Duration::from_secs(20),
        "a wait of a minute took no real minute"
    );
}

#[test]
fn an_open_disk_breaker_is_an_io_error_carrying_circuit_open() {
    let missing = std::path::Path::new("/nonexistent/readme-service");
    assert!(read_file(missing).is_err()); // creates the breaker
    breaker::registry().get("disk").unwrap().force_open();
    let error = read_file(missing).unwrap_err();
    let open = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<CircuitOpen>());
    assert_eq!(open.map(CircuitOpen::name), Some("disk"));
}
