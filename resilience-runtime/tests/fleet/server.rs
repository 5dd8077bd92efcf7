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
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("resilience-fleet-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        let mut server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            child: None,
            port,
            dir: Some(dir),
            password: password.map(str::to_owned),
        };
        server.start();
        server
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its port (0 for the one `REDIS_URL` names).
    pub fn port(&self) -> u16 {
        self.port
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
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
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
            if ping(self.port, self.password.as_deref()) {
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
