//! A TCP proxy between a replica and `redis-server`, with faults switched
//! on mid-test: connections that hang (no reply, no FIN: a blackholed path
//! or a dead node behind a load balancer), and a new upstream for new
//! connections (a failover).
//!
//! Ours rather than `noxious` (a Rust port of Toxiproxy's core): the faults
//! the fleet tests need are per connection — the old connections hang
//! while new ones reach the new primary — which a Toxiproxy toxic, applied
//! to a proxy as a whole, does not express; and this is some hundred lines
//! of blocking std I/O on threads of its own, so a paused tokio clock in a
//! test never stalls it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

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
    /// Milliseconds each chunk waits before it is passed on.
    latency_ms: AtomicU64,
    next: AtomicU64,
    stop: AtomicBool,
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
            latency_ms: AtomicU64::new(0),
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

    /// Every chunk of bytes, either way, waits `latency` before it is
    /// passed on (a slow path: each request and each reply is late).
    pub fn set_latency(&self, latency: Duration) {
        let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.state.latency_ms.store(ms, SeqCst);
    }

    /// New connections go to the Redis at `url` from now on.
    pub fn switch_to(&self, url: &str) {
        self.state.upstream.store(port_of(url), SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, SeqCst);
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .expect("redis://host:port")
}

fn accept(listener: &TcpListener, state: &Arc<State>) {
    while !state.stop.load(SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let number = state.next.fetch_add(1, SeqCst);
                let upstream = state.upstream.load(SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                for (from, to) in [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ] {
                    let (Ok(from), Ok(to)) = (from, to) else {
                        continue;
                    };
                    let state = Arc::clone(state);
                    std::thread::spawn(move || pump(from, to, number, &state));
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Copies `from` to `to` until either closes, the proxy stops, or the
/// connection hangs (then it holds both open and passes nothing).
fn pump(mut from: TcpStream, mut to: TcpStream, number: u64, state: &State) {
    let _ = from.set_read_timeout(Some(POLL));
    let mut buffer = [0; 16 * 1024];
    loop {
        if state.stop.load(SeqCst) {
            break;
        }
        if number < state.hung_below.load(SeqCst) {
            std::thread::sleep(POLL);
            continue;
        }
        match from.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => {
                // Bytes read just as the connection hangs are dropped, as
                // on a path that went dark.
                if number < state.hung_below.load(SeqCst) {
                    continue;
                }
                let latency = state.latency_ms.load(SeqCst);
                if latency > 0 {
                    std::thread::sleep(Duration::from_millis(latency));
                }
                if to.write_all(&buffer[..read]).is_err() {
                    break;
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
