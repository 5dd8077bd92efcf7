//! The connection to Redis: a tokio runtime of its own on one thread, the
//! redis-rs connection manager on it, and every operation bounded.
//!
//! Redis I/O runs here, not on the caller's runtime (the one exception, an
//! async caller's cache read, is [`near`](super::near)'s). Callers hand an operation
//! to the fleet's thread and wait for its answer (awaiting, or blocking a
//! sync caller's thread), which comes within the operation bound: the bound
//! is measured there, on real time. So a caller on a paused tokio runtime
//! (a test) sees no bound fire early when its clock jumps ahead, a sync
//! caller needs no runtime at all, and the connection outlives any one
//! runtime of the application.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::future::Either;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::time::error::Elapsed;

use super::health::{Failure, Health};
use super::watch::Deadline;

/// How often an outage is probed (`PING`) until Redis answers again.
const PING_EVERY: Duration = Duration::from_millis(250);

/// A caller, sync or async, waits this much past the bound for the answer
/// to arrive from the fleet thread, which applies the bound itself.
const SLACK: Duration = Duration::from_millis(50);

/// One connection to Redis and the thread that drives it.
pub(crate) struct Link {
    pub(crate) runtime: Handle,
    /// Replaced when it hangs or leads to a read-only node (see
    /// [`Link::rebuild`]); each operation takes a clone.
    manager: parking_lot::RwLock<ConnectionManager>,
    config: ConnectionManagerConfig,
    pub(crate) client: redis::Client,
    pub(crate) health: Health,
    pub(crate) namespace: String,
    bound: Duration,
    /// How many times the connection was replaced: the breaker news
    /// listener subscribes again when it changes (its connection likely
    /// leads where the replaced one did).
    generation: AtomicU64,
    /// Dropped with the link: stops the fleet thread.
    _stop: oneshot::Sender<()>,
}

type Bounded<T> = Result<redis::RedisResult<T>, Elapsed>;

impl Link {
    /// Starts the fleet thread and a connection manager that connects on
    /// first use (so a Redis that is down at start-up delays nothing).
    pub(crate) fn open(
        client: redis::Client,
        namespace: String,
        bound: Duration,
    ) -> std::io::Result<Arc<Self>> {
        // The bound of async callers' waits, before any caller waits.
        super::watch::start()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("resilience-fleet")
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("resilience-fleet".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })?;
        let config = ConnectionManagerConfig::new()
            // The operation bound, not redis-rs's 500 ms: a longer
            // `operation_timeout` is honoured (each command is bounded by
            // `bounded` as well).
            .set_response_timeout(Some(bound))
            .set_connection_timeout(Some(bound.max(Duration::from_secs(1))))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = {
            let _inside = handle.enter();
            ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                .map_err(std::io::Error::other)?
        };
        Ok(Arc::new(Self {
            runtime: handle,
            manager: parking_lot::RwLock::new(manager),
            config,
            client,
            health: Health::default(),
            namespace,
            bound,
            generation: AtomicU64::new(0),
            _stop: stop,
        }))
    }

    /// The bound of one Redis command.
    pub(crate) fn bound(&self) -> Duration {
        self.bound
    }

    /// How many times the connection was replaced so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }

    /// The connection operations use now.
    fn manager(&self) -> ConnectionManager {
        self.manager.read().clone()
    }

    /// Replaces the connection by a new one, made on first use. redis-rs
    /// reconnects by itself only when a connection fails; one that hangs
    /// (a blackholed path: no reply, no FIN) or leads to a node demoted to
    /// a replica (`READONLY`) would be kept until the kernel gives up, or
    /// for ever. Operations in flight on the old one finish or time out.
    pub(crate) fn rebuild(&self) {
        let _inside = self.runtime.enter();
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(manager) => {
                *self.manager.write() = manager;
                self.generation.fetch_add(1, Relaxed);
            }
            Err(error) => tracing::debug!(
                target: "resilience", namespace = self.namespace, error = %error,
                "fleet connection not rebuilt"
            ),
        }
    }

    /// Runs `op` on the fleet thread within `budget` (one command's bound,
    /// or more for an operation that waits); `op` bounds each of its
    /// commands with [`bounded`]. `None` when Redis is in an outage (at
    /// once), fails, or does not answer in time.
    pub(crate) async fn run<T, F, Fut>(
        self: &Arc<Self>,
        operation: &'static str,
        budget: Duration,
        op: F,
    ) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(ConnectionManager, Duration) -> Fut + Send + 'static,
        Fut: Future<Output = redis::RedisResult<T>> + Send + 'static,
    {
        if self.health.is_down() {
            return None;
        }
        let (conn, bound) = (self.manager(), self.bound);
        let handle = self
            .runtime
            .spawn(async move { tokio::time::timeout(budget, op(conn, bound)).await });
        // The fleet thread applies the bound; the caller bounds its own wait
        // too, in real time, in case that thread is stalled (as a sync
        // caller does with `recv_timeout`).
        let late = Deadline::after(budget + SLACK);
        match futures_util::future::select(handle, late).await {
            Either::Left((Ok(answer), _)) => self.settle(operation, answer),
            Either::Left((Err(_), _)) => self.settle(operation, Ok(Err(stopped()))),
            Either::Right(((), handle)) => {
                handle.abort();
                self.timed_out(operation);
                None
            }
        }
    }

    /// [`run`](Self::run) for a sync caller: blocks the thread, at most the
    /// bound (and a little slack for the hand-over).
    pub(crate) fn run_blocking<T, F, Fut>(
        self: &Arc<Self>,
        operation: &'static str,
        budget: Duration,
        op: F,
    ) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(ConnectionManager, Duration) -> Fut + Send + 'static,
        Fut: Future<Output = redis::RedisResult<T>> + Send + 'static,
    {
        if self.health.is_down() {
            return None;
        }
        let (conn, bound) = (self.manager(), self.bound);
        let (send, answer) = std::sync::mpsc::sync_channel::<Bounded<T>>(1);
        self.runtime.spawn(async move {
            let _ = send.send(tokio::time::timeout(budget, op(conn, bound)).await);
        });
        match answer.recv_timeout(budget + SLACK) {
            Ok(answer) => self.settle(operation, answer),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                self.timed_out(operation);
                None
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                self.settle(operation, Ok(Err(stopped())))
            }
        }
    }

    /// Runs `op` on the fleet thread without waiting for it; failures are
    /// counted and told like any other.
    pub(crate) fn run_detached<F, Fut>(self: &Arc<Self>, operation: &'static str, op: F)
    where
        F: FnOnce(ConnectionManager, Duration) -> Fut + Send + 'static,
        Fut: Future<Output = redis::RedisResult<()>> + Send + 'static,
    {
        if self.health.is_down() {
            return;
        }
        let (conn, bound) = (self.manager(), self.bound);
        let link = Arc::downgrade(self);
        self.runtime.spawn(async move {
            let answer = tokio::time::timeout(bound, op(conn, bound)).await;
            if let Some(link) = link.upgrade() {
                link.settle(operation, answer);
            }
        });
    }

    /// Counts a failure of something read back (not an outage).
    pub(crate) fn malformed(&self, operation: &'static str, detail: &str) {
        self.health
            .failed(&self.namespace, operation, Failure::Malformed, detail);
    }

    fn settle<T>(self: &Arc<Self>, operation: &'static str, answer: Bounded<T>) -> Option<T> {
        match answer {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) {
                    // A failover demoted the node: reach the new primary.
                    self.rebuild();
                }
                match classify(&error) {
                    Some(failure) => self.fail(operation, failure, &error.to_string()),
                    // One key's reply: a miss for that key, not an outage.
                    None => self.malformed(operation, &error.to_string()),
                }
                None
            }
            Err(_) => {
                self.timed_out(operation);
                None
            }
        }
    }

    /// Counts an operation that had no answer within its bound.
    pub(super) fn timed_out(self: &Arc<Self>, operation: &'static str) {
        self.fail(operation, Failure::Timeout, "no answer within the bound");
    }

    /// Counts a failure; the first of an outage starts the background ping
    /// that ends it.
    fn fail(self: &Arc<Self>, operation: &'static str, failure: Failure, detail: &str) {
        if self
            .health
            .failed(&self.namespace, operation, failure, detail)
        {
            self.runtime
                .spawn(ping_until_answered(Arc::downgrade(self)));
        }
    }
}

/// Pings Redis every [`PING_EVERY`] until it answers within the bound. A
/// ping that fails rebuilds the connection, so a hung one is replaced
/// within a ping or two, not when the kernel gives up on it.
async fn ping_until_answered(link: Weak<Link>) {
    loop {
        tokio::time::sleep(PING_EVERY).await;
        let Some(link) = link.upgrade() else { return };
        let mut conn = link.manager();
        let ping = redis::cmd("PING");
        if let Ok(Ok(())) =
            tokio::time::timeout(link.bound, ping.query_async::<()>(&mut conn)).await
        {
            link.health.recovered(&link.namespace);
            return;
        }
        link.rebuild();
    }
}

/// How an error of one operation counts: `Some` when Redis as a whole
/// did not answer (the connection, the server's state: an outage), `None`
/// when the reply concerned this operation's key or command alone (a
/// wrong-type value someone else wrote, a non-integer where one was
/// expected, a script or command the ACL refuses): a miss for that key.
pub(crate) fn classify(error: &redis::RedisError) -> Option<Failure> {
    use redis::{ErrorKind, ServerErrorKind};
    if error.is_timeout() {
        return Some(Failure::Timeout);
    }
    if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal() {
        return Some(Failure::Error);
    }
    match error.kind() {
        // Answers about the key or the command: the server is fine.
        ErrorKind::UnexpectedReturnType
        | ErrorKind::Parse
        | ErrorKind::Extension
        | ErrorKind::Server(
            ServerErrorKind::ResponseError
            | ServerErrorKind::NoScript
            | ServerErrorKind::NoPerm
            | ServerErrorKind::ExecAbort
            | ServerErrorKind::CrossSlot,
        ) => None,
        // Everything else (authentication, a server loading or demoted to
        // a replica, a cluster that moved, the fleet thread gone) is about
        // Redis as a whole.
        _ => Some(Failure::Error),
    }
}

/// One command within the bound; past it, a timeout error.
pub(crate) async fn bounded<T>(
    bound: Duration,
    command: impl Future<Output = redis::RedisResult<T>>,
) -> redis::RedisResult<T> {
    match tokio::time::timeout(bound, command).await {
        Ok(answer) => answer,
        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "no answer within the bound",
        ))),
    }
}

/// Blocks the fleet's one thread until the returned sender is dropped (at
/// most 10 s): a fleet thread that something stalled.
#[cfg(test)]
impl Link {
    pub(super) fn stall(&self) -> std::sync::mpsc::Sender<()> {
        let (stalled, stalls) = std::sync::mpsc::channel::<()>();
        self.runtime.spawn(async move {
            let _ = stalls.recv_timeout(Duration::from_secs(10));
        });
        stalled
    }
}

fn stopped() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other("the fleet thread has stopped"))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    /// A fleet thread that stalls (something blocked it) must not hold an
    /// async caller past the bound and its slack: the caller's own wait is
    /// bounded too, in real time, by the watchdog.
    async fn waits_at_most_the_bound_on_a_stalled_fleet_thread(namespace: &str) {
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let link = Link::open(client, namespace.into(), Duration::from_millis(50)).unwrap();
        let stalled = link.stall();
        let started = Instant::now();
        let answer = link
            .run("stalled", Duration::from_millis(50), |_, _| async { Ok(1) })
            .await;
        let waited = started.elapsed();
        drop(stalled);
        assert_eq!(answer, None);
        assert!(
            waited >= Duration::from_millis(100),
            "the bound and the slack: {waited:?}"
        );
        // The scheduling of a busy machine; far below the 10 s the thread
        // stalls.
        assert!(waited < Duration::from_millis(600), "waited {waited:?}");
        assert!(link.health.is_down(), "a timeout counts as a failure");
    }

    #[tokio::test]
    async fn an_async_caller_waits_no_longer_than_the_bound_on_a_stalled_fleet_thread() {
        waits_at_most_the_bound_on_a_stalled_fleet_thread("stalled").await;
    }

    /// The same on a paused tokio clock, which stands still meanwhile.
    #[tokio::test(start_paused = true)]
    async fn a_paused_caller_waits_no_longer_than_the_bound_on_a_stalled_fleet_thread() {
        waits_at_most_the_bound_on_a_stalled_fleet_thread("stalled-paused").await;
    }

    /// The same under a paused tokio clock (the caller's tests): the
    /// caller's bound is real time, so it does not fire at once when the
    /// paused clock jumps ahead, and an answer within the bound arrives.
    #[tokio::test(start_paused = true)]
    async fn a_paused_caller_gets_the_answer_of_a_healthy_fleet_thread() {
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let link = Link::open(client, "paused".into(), Duration::from_millis(50)).unwrap();
        let answer = link
            .run("answered", Duration::from_millis(50), |_, _| async {
                // Real time on the fleet thread: 20 ms of the 50 ms bound.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(7)
            })
            .await;
        assert_eq!(answer, Some(7));
    }
}
