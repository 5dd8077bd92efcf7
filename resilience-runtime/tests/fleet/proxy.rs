//! A TCP proxy between a replica and `redis-server`, with faults switched
//! on mid-test, as Toxiproxy's toxics are:
//!
//! | fault | switch | what the replica's connections see |
//! | --- | --- | --- |
//! | latency | [`Proxy::set_latency`] | each reply late |
//! | bandwidth | [`Proxy::set_bandwidth`] | bytes at most so fast, each way |
//! | hang | [`Proxy::hang_existing`] | open ones pass nothing, no FIN; new ones pass |
//! | blackhole | [`Proxy::set_blackhole`] | open ones, and those opened while it holds, pass nothing, no FIN, ever |
//! | reset | [`Proxy::set_reset`] | open ones, and those opened while it holds, are reset (RST) |
//! | slow close | [`Proxy::set_slow_close`], [`Proxy::close_existing`] | a close reaches them late: nothing passes meanwhile |
//! | failover | [`Proxy::switch_to`] | new ones reach another server |
//!
//! Ours rather than `noxious` (a Rust port of Toxiproxy's core): the faults
//! the fleet tests need are per connection — the old connections hang
//! while new ones reach the new primary — which a Toxiproxy toxic, applied
//! to a proxy as a whole, does not express; and this is a few hundred lines
//! of blocking std I/O on threads of its own, so a paused tokio clock in a
//! test never stalls it. A reset needs `SO_LINGER`, which std cannot set
//! yet: redis-rs's re-export of `socket2` sets it.

#![allow(dead_code)] // each test crate uses its own part of it

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// How often an idle pump looks at the switches.
const POLL: Duration = Duration::from_millis(5);

/// A proxy on a free loopback port; stopped (every connection closed) when
/// dropped.
pub struct Proxy {
    port: u16,
    state: Arc<State>,
}

struct State {
    /// Where new connections go.
    upstream: AtomicU16,
    /// Connections numbered below this hang.
    hung_below: AtomicU64,
    /// New connections hang (a blackhole holds).
    blackhole: AtomicBool,
    /// Connections numbered below this are reset.
    reset_below: AtomicU64,
    /// New connections are reset (a reset holds).
    resetting: AtomicBool,
    /// Connections numbered below this are closed (slowly, if set).
    closed_below: AtomicU64,
    /// Milliseconds each reply waits before it is passed on.
    latency_ms: AtomicU64,
    /// Bytes per second each way, per connection; 0: no limit.
    bandwidth: AtomicU64,
    /// Milliseconds a closing connection passes nothing before it closes.
    slow_close_ms: AtomicU64,
    next: AtomicU64,
    stop: AtomicBool,
}

/// One connection, as its two pumps see it.
struct Connection {
    number: u64,
    /// Made while a blackhole held: it never passes a byte.
    born_hung: bool,
}

impl Proxy {
    /// A proxy to the Redis at `url` (`redis://127.0.0.1:port`).
    pub fn to(url: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let port = listener.local_addr().expect("its address").port();
        let state = Arc::new(State {
            upstream: AtomicU16::new(port_of(url)),
            hung_below: AtomicU64::new(0),
            blackhole: AtomicBool::new(false),
            reset_below: AtomicU64::new(0),
            resetting: AtomicBool::new(false),
            closed_below: AtomicU64::new(0),
            latency_ms: AtomicU64::new(0),
            bandwidth: AtomicU64::new(0),
            slow_close_ms: AtomicU64::new(0),
            next: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || accept(&listener, &accepting));
        Self { port, state }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Every connection open now stops passing bytes either way, and stays
    /// open: no reply, no FIN. New connections are not affected.
    pub fn hang_existing(&self) {
        let next = self.state.next.load(SeqCst);
        self.state.hung_below.store(next, SeqCst);
    }

    /// On: every connection open now, and every one opened until it is
    /// switched off, passes nothing either way and never closes (a dead
    /// node behind a load balancer). Off: new connections pass again; the
    /// hung ones stay hung, as a dead node's do.
    pub fn set_blackhole(&self, on: bool) {
        if on {
            self.state.blackhole.store(true, SeqCst);
            self.hang_existing();
        } else {
            self.state.blackhole.store(false, SeqCst);
        }
    }

    /// On: every connection open now is reset (an RST, not a FIN), and so
    /// is every one opened until it is switched off, as soon as it is
    /// accepted. Off: new connections pass again.
    pub fn set_reset(&self, on: bool) {
        self.state.resetting.store(on, SeqCst);
        if on {
            let next = self.state.next.load(SeqCst);
            self.state.reset_below.store(next, SeqCst);
        }
    }

    /// Every reply (Redis to replica) waits `latency` before it is passed
    /// on, as Toxiproxy's `latency` toxic on the downstream.
    pub fn set_latency(&self, latency: Duration) {
        self.state.latency_ms.store(millis(latency), SeqCst);
    }

    /// At most `bytes_per_second` pass each way on each connection; 0
    /// lifts the limit.
    pub fn set_bandwidth(&self, bytes_per_second: u64) {
        self.state.bandwidth.store(bytes_per_second, SeqCst);
    }

    /// A connection that closes (either side, or [`close_existing`](Self::close_existing))
    /// passes nothing for `delay`, then closes both sides: the replica
    /// hears of the close `delay` late.
    pub fn set_slow_close(&self, delay: Duration) {
        self.state.slow_close_ms.store(millis(delay), SeqCst);
    }

    /// Every connection open now is closed, as when Redis closes its
    /// clients (a restart, an idle timeout), slowly if
    /// [`set_slow_close`](Self::set_slow_close) says so. New connections
    /// pass.
    pub fn close_existing(&self) {
        let next = self.state.next.load(SeqCst);
        self.state.closed_below.store(next, SeqCst);
    }

    /// New connections go to the Redis at `url` from now on.
    pub fn switch_to(&self, url: &str) {
        self.state.upstream.store(port_of(url), SeqCst);
    }

    /// Every fault off (connections hung or closed so far stay so).
    pub fn heal(&self) {
        self.set_blackhole(false);
        self.set_reset(false);
        self.set_latency(Duration::ZERO);
        self.set_bandwidth(0);
        self.set_slow_close(Duration::ZERO);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, SeqCst);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("redis://host:port")
}

/// Closes `stream` with an RST: `SO_LINGER` 0, then the last descriptor
/// dropped.
fn reset(stream: &TcpStream) {
    let _ = redis::io::tcp::socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

fn accept(listener: &TcpListener, state: &Arc<State>) {
    while !state.stop.load(SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let number = state.next.fetch_add(1, SeqCst);
                if state.resetting.load(SeqCst) {
                    reset(&client);
                    continue;
                }
                let upstream = state.upstream.load(SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let connection = Arc::new(Connection {
                    number,
                    born_hung: state.blackhole.load(SeqCst),
                });
                for (from, to, reply) in [
                    (client.try_clone(), server.try_clone(), false),
                    (server.try_clone(), client.try_clone(), true),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let (state, connection) = (Arc::clone(state), Arc::clone(&connection));
                    std::thread::spawn(move || pump(from, to, reply, &connection, &state));
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

impl State {
    fn hung(&self, connection: &Connection) -> bool {
        connection.born_hung || connection.number < self.hung_below.load(SeqCst)
    }

    fn reset(&self, connection: &Connection) -> bool {
        connection.number < self.reset_below.load(SeqCst)
    }

    fn closed(&self, connection: &Connection) -> bool {
        connection.number < self.closed_below.load(SeqCst)
    }
}

/// Copies `from` to `to` (`reply`: Redis to replica) until either closes,
/// the proxy stops, or a fault ends the connection. A hung connection holds
/// both sides open and passes nothing; a reset one drops its descriptors
/// with `SO_LINGER` 0 (its twin pump drops the others: the last one sends
/// the RST). Latency delays each chunk from the moment it was read, so
/// pipelined replies are late by `latency` each, not by its multiples.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    reply: bool,
    connection: &Connection,
    state: &State,
) {
    let mut buffer = [0; 16 * 1024];
    let mut late: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    'pumping: loop {
        if state.stop.load(SeqCst) {
            break;
        }
        if state.reset(connection) {
            reset(&from);
            reset(&to);
            return;
        }
        if state.closed(connection) {
            break;
        }
        if state.hung(connection) {
            std::thread::sleep(POLL);
            continue;
        }
        while let Some((due, _)) = late.front()
            && *due <= Instant::now()
        {
            let (_, bytes) = late.pop_front().expect("a front");
            if to.write_all(&bytes).is_err() {
                break 'pumping;
            }
        }
        let wait = late.front().map_or(POLL, |(due, _)| {
            due.saturating_duration_since(Instant::now()).min(POLL)
        });
        let _ = from.set_read_timeout(Some(wait.max(Duration::from_millis(1))));
        // Under a bandwidth limit, chunks of about 20 ms' worth.
        let bandwidth = state.bandwidth.load(SeqCst);
        let chunk = if bandwidth == 0 {
            buffer.len()
        } else {
            usize::try_from(bandwidth / 50).map_or(buffer.len(), |c| c.clamp(1, buffer.len()))
        };
        match from.read(&mut buffer[..chunk]) {
            Ok(0) => break,
            Ok(read) => {
                // Bytes read just as the connection hangs are dropped, as
                // on a path that went dark.
                if state.hung(connection) {
                    continue;
                }
                let read_at = Instant::now();
                if bandwidth > 0 {
                    std::thread::sleep(Duration::from_secs_f64(read as f64 / bandwidth as f64));
                }
                let latency = if reply {
                    state.latency_ms.load(SeqCst)
                } else {
                    0
                };
                if latency == 0 && late.is_empty() {
                    if to.write_all(&buffer[..read]).is_err() {
                        break;
                    }
                } else {
                    let due = read_at + Duration::from_millis(latency);
                    late.push_back((due, buffer[..read].to_vec()));
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let slow = state.slow_close_ms.load(SeqCst);
    if slow > 0 && !state.stop.load(SeqCst) {
        std::thread::sleep(Duration::from_millis(slow));
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
