//! A shared-cache read on the caller's own runtime: a local miss served
//! from Redis without the two hand-overs to the fleet thread and back.
//!
//! An async caller on a tokio runtime reads an entry over a connection of
//! its own thread, driven by its own runtime, as a bare redis-rs `GET`
//! would be: one connection per thread and fleet, made in the background
//! on the thread's first read (the reads go through the fleet thread until
//! it is ready). Everything else stays on the fleet thread: leases,
//! writes, breakers, pings, the health of the connection, and every sync
//! caller.
//!
//! A connection belongs to the runtime that made it (its driver is a task
//! there): a thread that runs another runtime later (a test after a test)
//! makes another. A runtime built without I/O (no `enable_io`) cannot make
//! one: the attempt panics inside tokio, which prints the panic once for
//! that runtime, and its reads go through the fleet thread from then on.
//!
//! The read's bound stays real time: it is raced with the watchdog's
//! [`Deadline`], and the connection has no timer of its own, since the
//! caller's runtime may run on a paused clock, whose timers fire as soon as
//! the runtime idles on I/O. A read that times out counts as the fleet's
//! failure, as one on the fleet thread does; a read that fails otherwise
//! (the connection reset, or the runtime that drove it gone) drops the
//! connection and is done by the fleet thread instead, which judges
//! Redis's health.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{Either, select};
use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use tokio::runtime::{Handle, Id};

use super::link::{Link, classify};
use super::watch::Deadline;

thread_local! {
    /// This thread's connections, one per fleet.
    static NEAR: RefCell<Vec<Near>> = const { RefCell::new(Vec::new()) };
}

/// The runtimes found to have no I/O driver: none of their threads tries
/// again.
static WITHOUT_IO: Mutex<Vec<Id>> = Mutex::new(Vec::new());

/// A connection of this thread to one fleet's Redis.
struct Near {
    link: Weak<Link>,
    /// The fleet connection's generation it was made in: replaced with it.
    generation: u64,
    /// The runtime that drives it.
    runtime: Id,
    /// Set by the background connect, once connected.
    conn: Arc<OnceLock<MultiplexedConnection>>,
    /// When the connect started: one that has not landed after its bound
    /// is tried again.
    started: Instant,
}

/// What a read on the caller's runtime came to.
pub(crate) enum Read<T> {
    /// Redis answered.
    Answered(T),
    /// Not read here: ask the fleet thread.
    Far,
    /// Redis is in an outage, or did not answer within the bound (now
    /// counted): go on with local state.
    Down,
}

impl Link {
    /// Runs `pipe` on this thread's connection, within the bound.
    pub(crate) async fn read_near<T: redis::FromRedisValue>(
        self: &Arc<Self>,
        operation: &'static str,
        pipe: &redis::Pipeline,
    ) -> Read<T> {
        if self.health.is_down() {
            return Read::Down;
        }
        let Some(mut conn) = self.near() else {
            return Read::Far;
        };
        let query = pin!(pipe.query_async::<T>(&mut conn));
        match select(query, Deadline::after(self.bound())).await {
            Either::Left((Ok(answer), _)) => Read::Answered(answer),
            Either::Left((Err(error), _)) => {
                if classify(&error).is_some() {
                    self.forget_near();
                }
                Read::Far
            }
            Either::Right(_) => {
                self.forget_near();
                self.timed_out(operation);
                Read::Down
            }
        }
    }

    /// This thread's connection, when it is ready; else starts making it
    /// on the caller's runtime (outside one: `None` for good).
    fn near(self: &Arc<Self>) -> Option<MultiplexedConnection> {
        let runtime = Handle::try_current().ok()?;
        let generation = self.generation();
        let retry_after = self.bound().max(Duration::from_secs(1));
        NEAR.with_borrow_mut(|nears| {
            let mine = nears.iter().position(|near| near.is(self));
            if let Some(near) = mine.map(|at| &nears[at])
                && near.generation == generation
                && near.runtime == runtime.id()
            {
                if let Some(conn) = near.conn.get() {
                    return Some(conn.clone());
                }
                if near.started.elapsed() < retry_after {
                    return None;
                }
            }
            // None yet, a connect that failed, or one from before the
            // fleet's connection was replaced (a failover, a hung path) or
            // of another runtime.
            nears.retain(|near| !near.is(self) && near.link.strong_count() > 0);
            let id = runtime.id();
            if WITHOUT_IO.lock().contains(&id) {
                return None;
            }
            let conn = Arc::new(OnceLock::new());
            nears.push(Near {
                link: Arc::downgrade(self),
                generation,
                runtime: id,
                conn: conn.clone(),
                started: Instant::now(),
            });
            let client = self.client.clone();
            runtime.spawn(async move {
                // No timer on the caller's runtime: the watchdog bounds
                // the connect, and each read bounds itself.
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(None)
                    .set_response_timeout(None);
                let connect = client.get_multiplexed_async_connection_with_config(&config);
                let connect = pin!(AssertUnwindSafe(connect).catch_unwind());
                match select(connect, Deadline::after(retry_after)).await {
                    Either::Left((Ok(Ok(made)), _)) => {
                        let _ = conn.set(made);
                    }
                    Either::Left((Err(_panicked), _)) => WITHOUT_IO.lock().push(id),
                    _ => {}
                }
            });
            None
        })
    }

    /// Drops this thread's connection; a new one is made a bound (at
    /// least a second) from now, so that a Redis resetting connections is
    /// not sent one connect per read.
    fn forget_near(self: &Arc<Self>) {
        NEAR.with_borrow_mut(|nears| {
            if let Some(near) = nears.iter_mut().find(|near| near.is(self)) {
                near.conn = Arc::new(OnceLock::new());
                near.started = Instant::now();
            }
        });
    }
}

impl Near {
    fn is(&self, link: &Arc<Link>) -> bool {
        std::ptr::eq(self.link.as_ptr(), Arc::as_ptr(link))
    }
}

/// Whether this thread holds a connection to `link`, ready.
#[cfg(test)]
pub(super) fn has_near(link: &Arc<Link>) -> bool {
    NEAR.with_borrow(|nears| {
        nears
            .iter()
            .any(|near| near.is(link) && near.conn.get().is_some())
    })
}

/// The runtimes found to have no I/O driver.
#[cfg(test)]
pub(super) fn runtimes_without_io() -> Vec<Id> {
    WITHOUT_IO.lock().clone()
}
