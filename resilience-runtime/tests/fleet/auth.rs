//! AUTH through the URL, as redis-rs takes it: the right password shares,
//! a wrong one is an unreachable Redis (local-only, counted), never a panic
//! or an error at a call.

use std::time::Duration;

use resilience_runtime::fleet::Fleet;
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};

use crate::server::{RedisServer, namespace};

fn describe(_: &(), f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.write_str("down")
}

#[tokio::test]
async fn the_password_in_the_url_is_used_and_a_wrong_one_runs_local_only() {
    let server = RedisServer::spawn_with(Some("s3cret"));
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    let ns = namespace("auth");

    let right = Fleet::connect(&format!("redis://:s3cret@127.0.0.1:{port}"), &ns)
        .await
        .unwrap();
    assert!(right.ping().await, "authenticated");
    let cache: StaleCache<u32, u32> = StaleCache::new(CacheConfig::new());
    let loaded = cache
        .get_or_load_on(&right, 1, "app::f", async { Ok(7) }, describe)
        .await;
    assert_eq!(loaded.unwrap(), 7);

    let wrong = Fleet::connect(&format!("redis://:nope@127.0.0.1:{port}"), &ns)
        .await
        .unwrap();
    assert!(!wrong.ping().await);
    assert!(!wrong.is_reachable() && wrong.errors() >= 1);
    let other: StaleCache<u32, u32> = StaleCache::new(CacheConfig::new());
    let started = std::time::Instant::now();
    let local = other
        .get_or_load_on(&wrong, 1, "app::f", async { Ok(8) }, describe)
        .await;
    assert_eq!(
        local.unwrap(),
        8,
        "local-only: its own load, not the shared 7"
    );
    assert!(started.elapsed() < Duration::from_millis(500));
}
