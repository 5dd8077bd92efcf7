//! The real-time bound on an async caller's wait for the fleet thread's
//! answer: one watchdog thread for the process, not a timer a wait.
//!
//! A wait ([`Deadline`]) registers its deadline and waker; the watchdog
//! sleeps until the earliest deadline registered (parked while there is
//! none) and wakes the waits past theirs. Deadlines are "now plus the
//! bound", so a new wait is almost never earlier than the one the watchdog
//! sleeps toward: registering takes a lock and an insert, and wakes no
//! thread. Under steady traffic the watchdog wakes about once per bound
//! (to find the wait it slept toward answered and gone), and never while
//! idle. (A timer of `futures-timer`, which this replaces, woke its helper
//! thread twice per operation, once armed and once dropped.)
//!
//! The watchdog only matters when the fleet thread is stalled: a healthy
//! one answers within the bound it applies itself. A wait is woken once
//! its deadline has passed and the watchdog thread is scheduled.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

struct Watchdog {
    state: Mutex<State>,
    thread: Thread,
}

#[derive(Default)]
struct State {
    /// By deadline, then registration order.
    waits: BTreeMap<(Instant, u64), Waker>,
    next: u64,
    /// The deadline the watchdog sleeps toward; `None` while it is parked
    /// with no wait registered.
    wakes_at: Option<Instant>,
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

/// Starts the watchdog if it is not running: [`Link::open`](super::link::Link::open)
/// calls it, so that a thread that cannot start fails the connect, as the
/// fleet thread's does, rather than leaving a wait unbounded. A later call
/// tries again after a failure.
pub(crate) fn start() -> std::io::Result<()> {
    static STARTING: Mutex<()> = Mutex::new(());
    if WATCHDOG.get().is_some() {
        return Ok(());
    }
    let _one_at_a_time = STARTING.lock();
    if WATCHDOG.get().is_some() {
        return Ok(());
    }
    let thread = std::thread::Builder::new()
        .name("resilience-fleet-watch".into())
        .spawn(|| {
            // The cell is set as soon as this spawn returns.
            loop {
                if let Some(watchdog) = WATCHDOG.get() {
                    watchdog.run();
                }
                std::thread::park_timeout(Duration::from_millis(1));
            }
        })?;
    let _ = WATCHDOG.set(Watchdog {
        state: Mutex::new(State::default()),
        thread: thread.thread().clone(),
    });
    Ok(())
}

impl Watchdog {
    fn run(&self) -> ! {
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            let mut state = self.state.lock();
            while let Some(entry) = state.waits.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            let wakes_at = state.waits.first_key_value().map(|((at, _), _)| *at);
            state.wakes_at = wakes_at;
            drop(state);
            for waker in due {
                // Another executor's waker: one that panics must not end
                // the thread every bound relies on.
                let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
            match wakes_at {
                Some(at) => std::thread::park_timeout(at.saturating_duration_since(Instant::now())),
                None => std::thread::park(),
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
        // Started by `Link::open`; should it not be, a wait that nothing
        // would wake ends now (a timeout) rather than never.
        let Some(watchdog) = WATCHDOG.get() else {
            return Poll::Ready(());
        };
        let mut state = watchdog.state.lock();
        let at = self.at;
        let id = *self.id.get_or_insert_with(|| {
            state.next += 1;
            state.next
        });
        match state.waits.get_mut(&(at, id)) {
            Some(waker) => waker.clone_from(cx.waker()),
            None => {
                state.waits.insert((at, id), cx.waker().clone());
            }
        }
        if state.wakes_at.is_none_or(|wakes_at| at < wakes_at) {
            state.wakes_at = Some(at);
            watchdog.thread.unpark();
        }
        Poll::Pending
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let (Some(id), Some(watchdog)) = (self.id, WATCHDOG.get()) {
            watchdog.state.lock().waits.remove(&(self.at, id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a paused clock too: it is real time that has to pass.
    #[tokio::test(start_paused = true)]
    async fn a_deadline_is_ready_once_it_has_passed_in_real_time() {
        start().unwrap();
        let started = Instant::now();
        Deadline::after(Duration::from_millis(30)).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(30), "{waited:?}");
        assert!(waited < Duration::from_millis(500), "{waited:?}");
    }

    /// A later deadline registered first does not hold back an earlier one
    /// registered after it: the watchdog is woken to sleep toward it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_earlier_deadline_is_kept_though_a_later_one_came_first() {
        start().unwrap();
        let late = tokio::spawn(Deadline::after(Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_millis(5)).await;
        let started = Instant::now();
        Deadline::after(Duration::from_millis(20)).await;
        let waited = started.elapsed();
        late.abort();
        assert!(waited < Duration::from_millis(500), "{waited:?}");
    }

    #[test]
    fn a_dropped_deadline_leaves_nothing_registered() {
        start().unwrap();
        let mut deadline = Box::pin(Deadline::after(Duration::from_secs(60)));
        assert!(
            deadline
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending()
        );
        let key = (deadline.at, deadline.id.unwrap());
        let watchdog = WATCHDOG.get().unwrap();
        assert!(watchdog.state.lock().waits.contains_key(&key));
        drop(deadline);
        assert!(!watchdog.state.lock().waits.contains_key(&key));
    }

    /// A waker that panics is the executor's bug; the watchdog goes on
    /// bounding every other wait.
    #[tokio::test]
    async fn a_panicking_waker_does_not_stop_the_watchdog() {
        use std::sync::Arc;
        use std::task::Wake;

        struct Panics;
        impl Wake for Panics {
            fn wake(self: Arc<Self>) {
                panic!("a broken executor");
            }
        }
        start().unwrap();
        let mut broken = Box::pin(Deadline::after(Duration::from_millis(1)));
        let waker = Waker::from(Arc::new(Panics));
        let _ = broken.as_mut().poll(&mut Context::from_waker(&waker));
        std::thread::sleep(Duration::from_millis(20));
        let started = Instant::now();
        Deadline::after(Duration::from_millis(20)).await;
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
