//! The real-time bound on an async caller's wait for the fleet thread's
//! answer: one watchdog thread for the process, not a timer a wait.
//!
//! A wait ([`Deadline`]) registers its deadline and waker; the watchdog
//! wakes every [`TICK`] while any wait is registered (and for [`LINGER`]
//! after the last), and wakes those past their deadline. Registering takes
//! a lock and an insert, and no system call while the watchdog ticks: under
//! steady traffic the only thread an operation wakes is the fleet's. (A
//! timer of `futures-timer`, which this replaces, woke its helper thread
//! twice per operation, once armed and once dropped.)
//!
//! The watchdog only matters when the fleet thread is stalled: a healthy
//! one answers within the bound it applies itself. A wait is woken at most
//! one tick past its deadline.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How often the watchdog looks while waits are registered.
const TICK: Duration = Duration::from_millis(10);

/// How long it keeps looking after the last wait ended, so that steady
/// traffic never has to wake it.
const LINGER: Duration = Duration::from_secs(1);

struct Watchdog {
    state: Mutex<State>,
    thread: Thread,
}

#[derive(Default)]
struct State {
    waits: HashMap<u64, (Instant, Waker)>,
    next: u64,
    /// Parked until a wait is registered.
    asleep: bool,
}

/// The watchdog, started on first use; `None` if its thread could not be
/// started (then a wait is bounded only by the fleet thread's own bound).
fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<Watchdog>> = OnceLock::new();
    WATCHDOG
        .get_or_init(|| {
            let thread = std::thread::Builder::new()
                .name("resilience-fleet-watch".into())
                .spawn(|| {
                    // The cell is set as soon as this spawn returns.
                    while WATCHDOG.get().is_none() {
                        std::thread::park_timeout(TICK);
                    }
                    if let Some(Some(watchdog)) = WATCHDOG.get() {
                        watchdog.run();
                    }
                })
                .ok()?;
            Some(Watchdog {
                state: Mutex::new(State::default()),
                thread: thread.thread().clone(),
            })
        })
        .as_ref()
}

impl Watchdog {
    fn run(&self) {
        let mut busy = Instant::now();
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            let mut state = self.state.lock();
            state.waits.retain(|_, (at, waker)| {
                let late = *at <= now;
                if late {
                    due.push(waker.clone());
                }
                !late
            });
            if !state.waits.is_empty() {
                busy = now;
            }
            state.asleep = state.waits.is_empty() && now.duration_since(busy) >= LINGER;
            let asleep = state.asleep;
            drop(state);
            due.into_iter().for_each(Waker::wake);
            if asleep {
                std::thread::park();
            } else {
                std::thread::park_timeout(TICK);
            }
        }
    }
}

/// Ready once `at` has passed, in real time, whatever the caller's
/// executor and its clock.
pub(crate) struct Deadline {
    at: Instant,
    /// Its registration with the watchdog, once polled.
    id: Option<u64>,
}

impl Deadline {
    pub(crate) fn after(wait: Duration) -> Self {
        Self {
            at: Instant::now() + wait,
            id: None,
        }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.at {
            return Poll::Ready(());
        }
        let Some(watchdog) = watchdog() else {
            return Poll::Pending;
        };
        let mut state = watchdog.state.lock();
        let id = *self.id.get_or_insert_with(|| {
            state.next += 1;
            state.next
        });
        let at = self.at;
        match state.waits.get_mut(&id) {
            Some((_, waker)) => waker.clone_from(cx.waker()),
            None => {
                state.waits.insert(id, (at, cx.waker().clone()));
            }
        }
        if state.asleep {
            state.asleep = false;
            watchdog.thread.unpark();
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let (Some(id), Some(watchdog)) = (self.id, watchdog()) {
            watchdog.state.lock().waits.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a paused clock too: it is real time that has to pass.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_is_ready_once_it_has_passed_in_real_time() {
        let started = Instant::now();
        Deadline::after(Duration::from_millis(30)).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
    }

    #[test]
    fn a_dropped_deadline_leaves_nothing_registered() {
        let mut deadline = Box::pin(Deadline::after(Duration::from_secs(60)));
        let waker = futures_util::task::noop_waker();
        assert!(
            deadline
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        let id = deadline.id.unwrap();
        assert!(watchdog().unwrap().state.lock().waits.contains_key(&id));
        drop(deadline);
        assert!(!watchdog().unwrap().state.lock().waits.contains_key(&id));
    }
}
