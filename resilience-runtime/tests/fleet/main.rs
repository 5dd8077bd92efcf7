//! The fleet tier against a real `redis-server`: run with
//! `cargo test -p resilience-runtime --features redis`.
//!
//! Real I/O runs on real time, so these tests use real-time runtimes and
//! keep their waits short; ages are driven by the one clock where a test
//! pauses it.

mod server;

use resilience_runtime::fleet;
use server::{RedisServer, namespace};

#[tokio::test]
async fn the_process_fleet_is_connected_once() {
    let server = RedisServer::any();
    let ns = namespace("process");
    let fleet = fleet::connect(server.url(), &ns).await.unwrap();
    assert_eq!(fleet.namespace(), ns);
    assert!(fleet.ping().await);
    assert_eq!(fleet::connected().unwrap().namespace(), ns);
    let again = fleet::connect(server.url(), &ns).await.unwrap_err();
    assert!(
        matches!(again, fleet::FleetError::AlreadyConnected),
        "{again}"
    );
}
