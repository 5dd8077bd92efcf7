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
//!
//! With `-- --ratio`, only the local miss against the bare `GET`, in
//! alternating rounds, so that both are measured under the same load (on a
//! shared machine criterion's rows, measured seconds apart, swing apart):
//!
//! ```text
//! cargo bench -p resilience-benches --features redis --bench fleet -- --ratio
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group};
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

    let miss = Miss::new(&server, &runtime, &ns);
    let (replica, config, describe) = (&miss.replica, miss.config, miss.describe);
    let (entry, mut conn) = (&miss.entry, miss.conn.clone());

    let mut group = c.benchmark_group("fleet/local miss");
    group.bench_function("served from Redis", |b| {
        b.iter_batched_ref(
            || StaleCache::<u64, Profile>::new(config),
            |cache| {
                let load = async { Err::<Profile, _>(Error) };
                let request = cache.request(42, "bench::profile").describe(describe);
                let served = runtime.block_on(request.on(replica).load(load));
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
                .block_on(redis::cmd("GET").arg(entry).query_async(&mut conn))
                .unwrap();
            black_box(bytes)
        })
    });
    group.finish();
}

type Describe = fn(&Error, &mut std::fmt::Formatter<'_>) -> std::fmt::Result;

/// A profile loaded "by another replica": in Redis, fresh; the replica's
/// fleet, and a bare connection with the entry's key.
struct Miss {
    replica: Fleet,
    config: CacheConfig,
    describe: Describe,
    entry: String,
    conn: redis::aio::MultiplexedConnection,
}

impl Miss {
    fn new(server: &server::RedisServer, runtime: &tokio::runtime::Runtime, ns: &str) -> Self {
        let replica = runtime.block_on(Fleet::connect(server.url(), ns)).unwrap();
        let config = CacheConfig::new().maxage(Duration::from_secs(3600));
        let describe: Describe = |_, f| f.write_str("down");
        let loader: StaleCache<u64, Profile> = StaleCache::new(config);
        let request = loader.request(42, "bench::profile").describe(describe);
        let load = request.on(&replica).load(async { Ok(profile(42)) });
        runtime.block_on(load).unwrap();
        let client = redis::Client::open(server.url()).unwrap();
        let mut conn = runtime
            .block_on(client.get_multiplexed_async_connection())
            .unwrap();
        let pattern = format!("resilience:{ns}:cache:bench::profile:*");
        let keys: Vec<String> = runtime
            .block_on(redis::cmd("KEYS").arg(pattern).query_async(&mut conn))
            .unwrap();
        let entry = keys.into_iter().next().expect("the entry the loader wrote");
        Self {
            replica,
            config,
            describe,
            entry,
            conn,
        }
    }
}

/// `--ratio`: rounds of 200 local misses, 200 fleet `PING`s and 200 bare
/// `GET`s, in turn; prints each one's median over all rounds, and the
/// ratio of the miss to the `GET`.
/// Samples of each row per round.
const EACH: usize = 200;

fn ratio() {
    const ROUNDS: usize = 50;
    let server = server::RedisServer::any();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ns = server::namespace("ratio");
    let miss = Miss::new(&server, &runtime, &ns);
    let mut conn = miss.conn.clone();
    let (mut misses, mut pings, mut gets) = (Vec::new(), Vec::new(), Vec::new());
    let (mut local, mut piped) = (Vec::new(), Vec::new());
    let empty = || StaleCache::<u64, Profile>::new(miss.config);
    for _ in 0..ROUNDS {
        each(&mut misses, empty, |cache| {
            let request = cache.request(42, "bench::profile").describe(miss.describe);
            let load = async { Err::<Profile, _>(Error) };
            let served = runtime.block_on(request.on(&miss.replica).load(load));
            assert_eq!(served.unwrap().id, 42, "served from Redis, not loaded");
        });
        each(&mut local, empty, |cache| {
            let request = cache.request(42, "bench::profile").describe(miss.describe);
            let loaded = runtime.block_on(request.load(async { Ok(profile(42)) }));
            assert_eq!(loaded.unwrap().id, 42);
        });
        each(
            &mut pings,
            || (),
            |()| {
                assert!(runtime.block_on(miss.replica.ping()));
            },
        );
        each(
            &mut gets,
            || (),
            |()| {
                let mut get = redis::cmd("GET");
                let get = get.arg(&miss.entry).query_async(&mut conn);
                let bytes: Vec<u8> = runtime.block_on(get).unwrap();
                black_box(bytes);
            },
        );
        each(
            &mut piped,
            || (),
            |()| {
                let mut pipe = redis::pipe();
                pipe.cmd("GETRANGE")
                    .arg(&miss.entry)
                    .arg(0)
                    .arg(65536)
                    .cmd("TIME");
                let answer: (Vec<u8>, (u64, u64)) =
                    runtime.block_on(pipe.query_async(&mut conn)).unwrap();
                black_box(answer);
            },
        );
    }
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let (miss, get) = (median(&mut misses), median(&mut gets));
    println!(
        "local miss served from Redis: {miss:?} (median of {})",
        misses.len()
    );
    println!(
        "the same miss, local only, loaded: {:?}",
        median(&mut local)
    );
    println!(
        "fleet PING (one bounded operation): {:?}",
        median(&mut pings)
    );
    println!("bare redis-rs GET: {get:?} (median of {})", gets.len());
    println!("bare GETRANGE + TIME: {:?}", median(&mut piped));
    println!("ratio: {:.2}", miss.as_secs_f64() / get.as_secs_f64());
}

/// `EACH` samples of `timed`, each given what `setup` made outside the
/// timing (and dropped after it).
fn each<S>(samples: &mut Vec<Duration>, setup: impl Fn() -> S, mut timed: impl FnMut(&S)) {
    for _ in 0..EACH {
        let made = setup();
        let started = std::time::Instant::now();
        timed(&made);
        samples.push(started.elapsed());
    }
}

criterion_group!(fleet_benches, benches);

fn main() {
    if std::env::args().any(|arg| arg == "--ratio") {
        return ratio();
    }
    fleet_benches();
    Criterion::default().configure_from_args().final_summary();
}
