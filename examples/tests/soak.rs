//! The soak test of the fleet tier (issue 23): two replicas of the HTTP
//! service, each a process of its own reaching one Redis through a fault
//! proxy of its own, while requests run and a random schedule of faults
//! holds — latency, bandwidth, hung connections, a blackhole, resets, slow
//! closes, a hostile writer, Redis killed and restarted empty, a failover.
//!
//! Every response must be a 200 with its own id's profile (the upstream's
//! or the placeholder), and no stale answer older than the cache's
//! `tolerance` (60 s): `X-Stale-Age` says how old, and the hostile writer
//! plants profiles loaded twice the tolerance ago, which no answer may
//! carry.
//!
//! ```text
//! cargo test -p resilience-examples --features redis --test soak
//! SOAK_SEED=42 cargo test -p resilience-examples --features redis --test soak   # a schedule again
//! ```
//!
//! Its own harness (`harness = false`): the binary runs itself again, as a
//! replica, when `SOAK_REPLICA` is set; the fleet is one per process, so
//! two replicas are two processes.

#[path = "../../resilience-runtime/tests/fleet/proxy.rs"]
mod proxy;
#[path = "../../resilience-runtime/tests/fleet/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use resilience_examples::http_service::{Upstream, app, connect_fleet, install_metrics, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use proxy::Proxy;
use server::RedisServer;

/// Set in a replica's environment: run as a replica.
const REPLICA: &str = "SOAK_REPLICA";
/// How long faults are scheduled and requests run.
const RUN: Duration = Duration::from_secs(50);
/// The service's `#[stale_cache(tolerance = 60)]`.
const TOLERANCE_SECS: u64 = 60;
/// Ids asked for: few enough that profiles are cached, go stale, and are
/// shared.
const IDS: u64 = 40;
/// Concurrent clients.
const CLIENTS: usize = 4;
/// The longest a request may take: a refresh waits at most 2 s for another
/// replica's, its attempts back off 0.1 s and 0.2 s, each Redis operation
/// is bounded by 50 ms; the rest is slack for a busy machine.
const REQUEST_ALLOWED: Duration = Duration::from_secs(5);
/// `Profile { id: 0, name: "Ancient", placeholder: false }` in CBOR, as
/// serde writes it: a map of three text keys.
const ANCIENT_PROFILE: [u8; 31] = *b"\xa3\x62id\x00\x64name\x67Ancient\x6bplaceholder\xf4";
/// The service's fleet namespace (`connect_fleet`).
const NAMESPACE: &str = "http-service";

fn main() {
    if std::env::var_os(REPLICA).is_some() {
        replica();
        return;
    }
    // libtest's arguments, as far as a one-test binary needs them.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("soak: test");
        return;
    }
    let mut filters = Vec::new();
    let mut skip = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--skip" => skip.extend(args.next().cloned()),
            "--test-threads" | "--format" | "--color" | "--logfile" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter.to_owned()),
        }
    }
    let selected = (filters.is_empty() || filters.iter().any(|f| "soak".contains(f.as_str())))
        && !skip.iter().any(|s| "soak".contains(s.as_str()));
    if !selected {
        println!("\nrunning 0 tests (soak filtered out)\n");
        return;
    }
    println!("\nrunning 1 test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(soak());
    println!("test soak ... ok\n");
}

/// A replica: the HTTP service on a free port, sharing over `REDIS_URL`.
/// Prints its port; ends when its parent closes its stdin.
fn replica() {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let metrics = install_metrics().unwrap();
        let url = std::env::var("REDIS_URL").unwrap();
        connect_fleet(&url).await.unwrap();
        let rate: f64 = std::env::var("FAILURE_RATE").unwrap().parse().unwrap();
        let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
        let upstream = Arc::new(Upstream::new(rate, seed));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        serve(listener, app(upstream, metrics, None)).await.unwrap();
    });
}

/// A replica process, killed when dropped (a failed test too).
struct Replica {
    child: Child,
    port: u16,
}

impl Replica {
    fn start(redis_url: &str, seed: u64) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(REPLICA, "1")
            .env("REDIS_URL", redis_url)
            .env("FAILURE_RATE", "0.5")
            .env("SEED", seed.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the test binary runs again as a replica");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the replica prints its port");
        Self { child, port }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer, as read off the wire.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `GET path` over a connection of its own (HTTP/1.1, `Connection: close`).
async fn get(port: u16, path: &str) -> Result<Answer, String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {text:?}"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

#[derive(Default)]
struct Stats {
    requests: u64,
    stale: u64,
    oldest_stale_secs: u64,
    placeholders: u64,
    slowest: Duration,
    failures: Vec<String>,
}

/// Checks one answer for `id`: a 200, its own id's profile, not too old.
fn check(id: u64, answer: Result<Answer, String>, took: Duration, stats: &mut Stats) {
    stats.requests += 1;
    stats.slowest = stats.slowest.max(took);
    let mut fail = |why: String| {
        if stats.failures.len() < 20 {
            stats.failures.push(format!("/profile/{id}: {why}"));
        }
    };
    if took > REQUEST_ALLOWED {
        fail(format!("took {took:?}"));
    }
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return fail(error),
    };
    if answer.status != 200 {
        return fail(format!("status {}: {}", answer.status, answer.body));
    }
    let upstream = format!("profile {id}: User {id} (upstream)\n");
    let placeholder = format!("profile {id}: Guest {id} (placeholder)\n");
    if answer.body == placeholder {
        stats.placeholders += 1;
    } else if answer.body != upstream {
        return fail(format!("another key's value: {:?}", answer.body));
    }
    if let Some(age) = answer.header("x-stale-age") {
        stats.stale += 1;
        match age.parse::<u64>() {
            Ok(age) if age <= TOLERANCE_SECS => {
                stats.oldest_stale_secs = stats.oldest_stale_secs.max(age);
            }
            _ => fail(format!("X-Stale-Age {age}, past the tolerance")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Latency,
    Bandwidth,
    Hang,
    Blackhole,
    Reset,
    SlowClose,
    Hostile,
    KillRestart,
    Failover,
}

const FAULTS: [Fault; 9] = [
    Fault::Latency,
    Fault::Bandwidth,
    Fault::Hang,
    Fault::Blackhole,
    Fault::Reset,
    Fault::SlowClose,
    Fault::Hostile,
    Fault::KillRestart,
    Fault::Failover,
];

/// Redis, the demoted primaries of earlier failovers, and the replicas'
/// proxies.
struct Fleet {
    primary: RedisServer,
    demoted: Vec<RedisServer>,
    proxies: [Proxy; 2],
}

impl Fleet {
    async fn raw(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.primary.url()).ok()?;
        client.get_multiplexed_async_connection().await.ok()
    }

    fn open_key() -> String {
        format!(
            "resilience:{NAMESPACE}:breaker-open:{}",
            resilience_examples::http_service::BREAKER
        )
    }

    /// Switches `fault` on, for the proxies `on` (by index).
    async fn on(&mut self, fault: Fault, on: &[usize], hold: Duration) {
        for &i in on {
            let proxy = &self.proxies[i];
            match fault {
                Fault::Latency => proxy.set_latency(Duration::from_millis(40)),
                Fault::Bandwidth => proxy.set_bandwidth(8 * 1024),
                Fault::Hang => proxy.hang_existing(),
                Fault::Blackhole => proxy.set_blackhole(true),
                Fault::Reset => proxy.set_reset(true),
                Fault::SlowClose => {
                    proxy.set_slow_close(hold);
                    proxy.close_existing();
                }
                _ => {}
            }
        }
        match fault {
            Fault::KillRestart => self.primary.stop(),
            Fault::Hostile => {
                // A far-future "open until", as a replica would announce it.
                let mut conn = self.raw().await.expect("Redis runs");
                let now = wall_millis();
                let until = now + 10 * 365 * 24 * 3_600_000;
                let breaker = resilience_examples::http_service::BREAKER;
                let _: redis::RedisResult<()> = redis::pipe()
                    .cmd("SET")
                    .arg(Self::open_key())
                    .arg(format!("{until} {now}"))
                    .ignore()
                    .cmd("PUBLISH")
                    .arg(format!("resilience:{NAMESPACE}:breakers"))
                    .arg(format!("ffffffffffffffff open {until} {now} {breaker}"))
                    .ignore()
                    .query_async(&mut conn)
                    .await;
            }
            Fault::Failover => {
                let new = RedisServer::spawn();
                let mut conn = self.raw().await.expect("Redis runs");
                let port = new.url().rsplit(':').next().unwrap().to_owned();
                redis::cmd("REPLICAOF")
                    .arg("127.0.0.1")
                    .arg(&port)
                    .query_async::<()>(&mut conn)
                    .await
                    .unwrap();
                for proxy in &self.proxies {
                    proxy.switch_to(new.url());
                }
                let old = std::mem::replace(&mut self.primary, new);
                self.demoted.push(old);
            }
            _ => {}
        }
    }

    /// While the hostile writer holds: junk in a few entries — a wrong
    /// type, a load time an hour ahead, a value over the size read back.
    async fn vandalize(&self, rng: &mut fastrand::Rng) {
        let Some(mut conn) = self.raw().await else {
            return;
        };
        let Ok(keys) = redis::cmd("KEYS")
            .arg(format!("resilience:{NAMESPACE}:cache:*"))
            .query_async::<Vec<String>>(&mut conn)
            .await
        else {
            return;
        };
        for _ in 0..keys.len().min(3) {
            let key = &keys[rng.usize(..keys.len())];
            let mut pipe = redis::pipe();
            pipe.cmd("DEL").arg(key).ignore();
            match rng.u8(..4) {
                0 => pipe.cmd("RPUSH").arg(key).arg("junk").ignore(),
                1 => {
                    let mut entry = vec![1];
                    entry.extend_from_slice(&(wall_millis() + 3_600_000).to_be_bytes());
                    entry.push(0x66);
                    entry.extend_from_slice(b"future");
                    pipe.cmd("SET").arg(key).arg(entry).ignore()
                }
                2 => pipe.cmd("SETRANGE").arg(key).arg(2 << 20).arg("9").ignore(),
                _ => {
                    // A well-formed profile loaded twice the tolerance ago:
                    // it must never be served, fresh or stale.
                    let loaded = wall_millis() - 2 * TOLERANCE_SECS * 1000;
                    let mut entry = vec![1];
                    entry.extend_from_slice(&loaded.to_be_bytes());
                    entry.extend_from_slice(&ANCIENT_PROFILE);
                    pipe.cmd("SET").arg(key).arg(entry).ignore()
                }
            };
            let _: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        }
    }

    async fn off(&mut self, fault: Fault) {
        for proxy in &self.proxies {
            proxy.heal();
        }
        match fault {
            Fault::KillRestart => self.primary.start(),
            Fault::Hostile => {
                // The operator deletes the far-future key (it has no time
                // to live).
                if let Some(mut conn) = self.raw().await {
                    let _: redis::RedisResult<()> = redis::cmd("DEL")
                        .arg(Self::open_key())
                        .query_async(&mut conn)
                        .await;
                }
            }
            _ => {}
        }
    }
}

fn wall_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn soak() {
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("soak: seed {seed} (SOAK_SEED={seed} runs this schedule again)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let primary = RedisServer::spawn();
    let proxies = [Proxy::to(primary.url()), Proxy::to(primary.url())];
    let replicas = [
        Replica::start(&proxies[0].url(), seed),
        Replica::start(&proxies[1].url(), seed.wrapping_add(1)),
    ];
    let ports = [replicas[0].port, replicas[1].port];
    let mut fleet = Fleet {
        primary,
        demoted: Vec::new(),
        proxies,
    };

    let started = Instant::now();
    let stats = Arc::new(Mutex::new(Stats::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let stats = Arc::clone(&stats);
            let mut rng = fastrand::Rng::with_seed(seed ^ (client as u64 + 1) << 32);
            tokio::spawn(async move {
                while started.elapsed() < RUN {
                    let id = rng.u64(1..=IDS);
                    let port = ports[rng.usize(..2)];
                    let sent = Instant::now();
                    let answer = tokio::time::timeout(
                        REQUEST_ALLOWED * 2,
                        get(port, &format!("/profile/{id}")),
                    )
                    .await
                    .unwrap_or_else(|_| Err("no answer".into()));
                    check(id, answer, sent.elapsed(), &mut stats.lock().unwrap());
                    tokio::time::sleep(Duration::from_millis(rng.u64(5..=30))).await;
                }
            })
        })
        .collect();

    // The schedule: a fault on one replica's path or both (Redis's own
    // faults are everyone's), held 1 to 4 s, then 0.5 to 2 s of calm.
    let mut applied: BTreeMap<Fault, u32> = BTreeMap::new();
    tokio::time::sleep(Duration::from_secs(1)).await; // a healthy start
    while started.elapsed() + Duration::from_secs(5) < RUN {
        let mut fault = FAULTS[rng.usize(..FAULTS.len())];
        if fault == Fault::Failover && applied.get(&fault).copied().unwrap_or(0) >= 2 {
            fault = Fault::KillRestart;
        }
        let on: &[usize] = match rng.u8(..3) {
            0 => &[0],
            1 => &[1],
            _ => &[0, 1],
        };
        let hold = Duration::from_millis(rng.u64(1000..=4000));
        let whose = match fault {
            Fault::Hostile | Fault::KillRestart | Fault::Failover => "Redis".to_owned(),
            _ => format!("the path of replica {on:?}"),
        };
        println!(
            "soak: {:>5.1} s {fault:?} on {whose} for {:.1} s",
            started.elapsed().as_secs_f64(),
            hold.as_secs_f64()
        );
        fleet.on(fault, on, hold).await;
        let held = Instant::now();
        while held.elapsed() < hold {
            if fault == Fault::Hostile {
                fleet.vandalize(&mut rng).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        fleet.off(fault).await;
        *applied.entry(fault).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(rng.u64(500..=2000))).await;
    }
    for client in clients {
        client.await.unwrap();
    }

    let stats = stats.lock().unwrap();
    let faults: u32 = applied.values().sum();
    println!(
        "soak: {} requests in {:.1} s, {faults} faults {applied:?}; {} stale (oldest {} s), {} placeholders, slowest {} ms",
        stats.requests,
        started.elapsed().as_secs_f64(),
        stats.stale,
        stats.oldest_stale_secs,
        stats.placeholders,
        stats.slowest.as_millis()
    );
    assert!(
        stats.failures.is_empty(),
        "seed {seed}: {} bad answers, the first:\n{}",
        stats.failures.len(),
        stats.failures.join("\n")
    );
    assert!(stats.requests > 1000, "requests ran throughout");
    drop(replicas);
}
