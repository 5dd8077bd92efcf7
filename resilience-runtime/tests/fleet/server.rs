//! A real `redis-server` for the fleet tests: the one `REDIS_URL` names, or
//! one started here on a free loopback port as a child process (as
//! redis-rs's own tests do), stopped when dropped.
//!
//! A missing server is a failure that says how to get one, never a skip.

#![allow(dead_code)] // each test crate uses its own part of it

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NO_SERVER: &str = "the fleet tests need a real Redis, and `redis-server` is not on PATH: \
install it (Debian/Ubuntu: `apt-get install redis-server`; macOS: `brew install redis`), \
or set REDIS_URL=redis://host:port to a server that runs";

/// A Redis server for one test.
pub struct RedisServer {
    url: String,
    child: Option<Child>,
    port: u16,
    dir: Option<PathBuf>,
    /// `requirepass`, when the server asks for a password.
    password: Option<String>,
    /// TLS only (`--port 0`), when the server was started for it.
    tls: Option<TlsServer>,
}

/// What a TLS-only server is started with: PEM files, and its
/// `tls-auth-clients` (`yes`: a client certificate is required, `optional`:
/// checked when given, `no`).
#[derive(Debug, Clone)]
pub struct TlsServer {
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub ca_certificate: PathBuf,
    pub auth_clients: &'static str,
}

impl RedisServer {
    /// The server `REDIS_URL` names, else a new child process.
    pub fn any() -> Self {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.is_empty() => Self {
                url,
                child: None,
                port: 0,
                dir: None,
                password: None,
                tls: None,
            },
            _ => Self::spawn(),
        }
    }

    /// A new child process on a free loopback port: for tests that stop and
    /// restart their server.
    pub fn spawn() -> Self {
        Self::spawn_with(None)
    }

    /// A new child process that asks for `password` (AUTH), if given.
    pub fn spawn_with(password: Option<&str>) -> Self {
        Self::spawn_inner(password, None)
    }

    /// A new child process that speaks TLS only (`--port 0`, `--tls-port`):
    /// its URL is `rediss://127.0.0.1:{port}`.
    pub fn spawn_tls(tls: TlsServer) -> Self {
        Self::spawn_inner(None, Some(tls))
    }

    fn spawn_inner(password: Option<&str>, tls: Option<TlsServer>) -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("resilience-fleet-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        let scheme = if tls.is_some() { "rediss" } else { "redis" };
        let mut server = Self {
            url: format!("{scheme}://127.0.0.1:{port}"),
            child: None,
            port,
            dir: Some(dir),
            password: password.map(str::to_owned),
            tls,
        };
        server.start();
        server
    }

    /// Its port (0 for the one `REDIS_URL` names).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Kills the server (a child process only).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "the server runs already");
        let dir = self.dir.as_ref().expect("a server this test started");
        let port = self.port.to_string();
        let ports: Vec<std::ffi::OsString> = match &self.tls {
            None => vec!["--port".into(), port.into()],
            Some(tls) => vec![
                "--port".into(),
                "0".into(),
                "--tls-port".into(),
                port.into(),
                "--tls-cert-file".into(),
                tls.certificate.clone().into_os_string(),
                "--tls-key-file".into(),
                tls.key.clone().into_os_string(),
                "--tls-ca-cert-file".into(),
                tls.ca_certificate.clone().into_os_string(),
                "--tls-auth-clients".into(),
                tls.auth_clients.into(),
            ],
        };
        let child = Command::new("redis-server")
            .args(ports)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(
                self.password
                    .iter()
                    .flat_map(|password| ["--requirepass", password]),
            )
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!("{NO_SERVER}"),
            Err(error) => panic!("redis-server did not start: {error}"),
        };
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            // A TLS server is ready when it accepts: the test's client
            // is the fleet itself.
            let ready = match self.tls {
                None => ping(self.port, self.password.as_deref()),
                Some(_) => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            };
            if ready {
                return;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "redis-server exited at start-up ({status}): is port {} taken?",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server did not answer on port {} within 10 s",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A namespace no other test (or earlier run on a shared REDIS_URL) uses.
pub fn namespace(test: &str) -> String {
    format!(
        "test-{test}-{}-{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("its address").port()
}

fn ping(port: u16, password: Option<&str>) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    if let Some(password) = password {
        let mut ok = [0; 5];
        let auth = format!("AUTH {password}\r\n");
        if stream.write_all(auth.as_bytes()).is_err() || stream.read_exact(&mut ok).is_err() {
            return false;
        }
    }
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
