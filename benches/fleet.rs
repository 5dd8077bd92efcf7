//! The fleet tier's costs, against a real `redis-server` on loopback
//! (started here on a free port, or the one `REDIS_URL` names):
//!
//! ```text
//! cargo bench -p resilience-benches --features redis --bench fleet
//! ```
//!
//! - `fresh hit`: `#[stale_cache]` with and without `shared = true`, the
//!   fleet connected, every key fresh locally. The target is no difference:
//!   the hit path does no Redis work.
//! - `local miss`: a key missing from an empty local cache but fresh in
//!   Redis, served from Redis (one bounded round trip on the fleet thread,
//!   decoding, keeping it locally), against a bare redis-rs `GET` of the
//!   same entry on a multiplexed connection: the least a read can cost.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use resilience_runtime::fleet::{self, Fleet};
use resilience_runtime::stale_cache;
use resilience_runtime::stale_cache::{CacheConfig, StaleCache};
use serde::{Deserialize, Serialize};

#[path = "../resilience-runtime/tests/fleet/server.rs"]
mod server;

#[derive(Debug, Clone)]
pub struct Error;

const KEYS: u64 = 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    id: u64,
    name: String,
    email: String,
}

#[inline(never)]
fn lookup(id: u64) -> Result<u64, Error> {
    Ok(id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

#[stale_cache(maxage = 3600, tolerance = 7200)]
fn local_only(id: u64) -> Result<u64, Error> {
    lookup(id)
}

#[stale_cache(maxage = 3600, tolerance = 7200, shared = true)]
fn shared(id: u64) -> Result<u64, Error> {
    lookup(id)
}

fn profile(id: u64) -> Profile {
    Profile {
        id,
        name: format!("User {id}"),
        email: format!("user{id}@example.com"),
    }
}

fn benches(c: &mut Criterion) {
    let server = server::RedisServer::any();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ns = server::namespace("bench");
    runtime.block_on(fleet::connect(server.url(), &ns)).unwrap();
    for id in 0..KEYS {
        local_only(id).unwrap();
        shared(id).unwrap();
    }

    let mut group = c.benchmark_group("fleet/fresh hit");
    group.bench_function("#[stale_cache]", |b| {
        let mut id = 0;
        b.iter(|| {
            id = (id + 1) % KEYS;
            drop(black_box(local_only(black_box(id))))
        })
    });
    group.bench_function("#[stale_cache(shared = true)]", |b| {
        let mut id = 0;
        b.iter(|| {
            id = (id + 1) % KEYS;
            drop(black_box(shared(black_box(id))))
        })
    });
    group.finish();

    // A profile loaded "by another replica": in Redis, fresh.
    let replica = runtime.block_on(Fleet::connect(server.url(), &ns)).unwrap();
    let config = CacheConfig::new().maxage(Duration::from_secs(3600));
    let describe = |_: &Error, f: &mut std::fmt::Formatter<'_>| f.write_str("down");
    let loader: StaleCache<u64, Profile> = StaleCache::new(config);
    runtime
        .block_on(
            loader
                .request(42, "bench::profile")
                .describe(describe)
                .on(&replica)
                .load(async { Ok(profile(42)) }),
        )
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = runtime
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    let keys: Vec<String> = runtime
        .block_on(
            redis::cmd("KEYS")
                .arg(format!("resilience:{ns}:cache:bench::profile:*"))
                .query_async(&mut conn),
        )
        .unwrap();
    let entry = keys.into_iter().next().expect("the entry the loader wrote");

    let mut group = c.benchmark_group("fleet/local miss");
    group.bench_function("served from Redis", |b| {
        b.iter_batched_ref(
            || StaleCache::<u64, Profile>::new(config),
            |cache| {
                let load = async { Err::<Profile, _>(Error) };
                let request = cache.request(42, "bench::profile").describe(describe);
                let served = runtime.block_on(request.on(&replica).load(load));
                assert_eq!(served.unwrap().id, 42, "served from Redis, not loaded");
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("fleet PING (one bounded operation)", |b| {
        b.iter(|| assert!(runtime.block_on(replica.ping())))
    });
    group.bench_function("bare redis-rs GET", |b| {
        b.iter(|| {
            let bytes: Vec<u8> = runtime
                .block_on(redis::cmd("GET").arg(&entry).query_async(&mut conn))
                .unwrap();
            black_box(bytes)
        })
    });
    group.finish();
}

criterion_group!(fleet_benches, benches);
criterion_main!(fleet_benches);
