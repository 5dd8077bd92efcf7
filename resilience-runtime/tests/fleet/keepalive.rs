//! TCP keepalive on every fleet connection, read back from the kernel: a
//! socket with `SO_KEEPALIVE` has its keepalive timer pending (the `tr`
//! column of `/proc/net/tcp` is 2, `tm->when` the time left, in 1/100 s),
//! one without has no timer while idle. Only this process's sockets
//! (its `/proc/self/fd`) to the test server's port count. Linux only.

#![cfg_attr(not(target_os = "linux"), allow(unused_imports))]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use resilience_runtime::breaker::{Breaker, BreakerConfig};
use resilience_runtime::fleet::{Fleet, FleetOptions};

use crate::server::{RedisServer, namespace};

/// One established connection of this process to the server.
#[derive(Debug, Clone, Copy)]
pub struct Socket {
    /// `tr`: 0 no timer, 1 retransmit, 2 keepalive, 4 zero-window probe.
    pub timer: u8,
    /// `tm->when`: the time left on it, in 1/100 s.
    pub left: Duration,
}

/// The established TCP connections of this process to `port` on loopback.
pub fn sockets_to(port: u16) -> Vec<Socket> {
    let ours: HashSet<u64> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd (Linux)")
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            target
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    let mut found = Vec::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in text.lines().skip(1) {
            let fields: Vec<&str> = row.split_whitespace().collect();
            let [_, _, remote, state, _, timer, _, _, _, inode, ..] = fields[..] else {
                continue;
            };
            let remote_port = remote
                .rsplit(':')
                .next()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok());
            let established = state == "01";
            let inode: u64 = inode.parse().unwrap_or(0);
            if remote_port != Some(port) || !established || !ours.contains(&inode) {
                continue;
            }
            let (kind, left) = timer.split_once(':').expect("tr:tm->when");
            found.push(Socket {
                timer: u8::from_str_radix(kind, 16).unwrap(),
                left: Duration::from_millis(u64::from_str_radix(left, 16).unwrap() * 10),
            });
        }
    }
    found
}

/// Waits (at most 2 s) until this process has at least `connections`
/// established to `port` — so both the operations' and the listener's are
/// counted — and every one of them has its keepalive timer pending within
/// `idle`. Panics with what the kernel showed otherwise. (Linux only: the
/// kernel's view is read from /proc; elsewhere this checks nothing.)
pub async fn assert_keepalive(port: u16, connections: usize, idle: Duration) {
    if cfg!(not(target_os = "linux")) {
        return;
    }
    let started = Instant::now();
    loop {
        let sockets = sockets_to(port);
        let kept_alive = |socket: &Socket| socket.timer == 2 && socket.left <= idle;
        if sockets.len() >= connections && sockets.iter().all(kept_alive) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "expected {connections} connections to port {port}, each with a keepalive timer \
             within {idle:?}; the kernel shows {sockets:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn every_fleet_connection_has_tcp_keepalive_at_the_idle_time_set() {
    let server = RedisServer::spawn();
    let idle = Duration::from_secs(7);
    let options = FleetOptions::new().tcp_keepalive(idle);
    let fleet = Fleet::connect_with(server.url(), &namespace("keepalive"), options)
        .await
        .unwrap();
    assert!(fleet.ping().await);
    // A shared breaker starts the news listener: a connection of its own.
    let breaker = Arc::new(Breaker::new("payments", BreakerConfig::new()));
    breaker.share_on(&fleet);

    assert_keepalive(server.port(), 2, idle).await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_default_keepalive_is_a_minute() {
    let server = RedisServer::spawn();
    let fleet = Fleet::connect(server.url(), &namespace("keepalive-default"))
        .await
        .unwrap();
    assert!(fleet.ping().await);
    assert_keepalive(server.port(), 1, Duration::from_secs(60)).await;
}
