//! Where sync background refreshes run: a few threads shared by every
//! cache, not one thread per key — 10 000 keys expiring together would
//! otherwise start 10 000 threads.
//!
//! At most [`THREADS`] refreshes run at once; up to [`QUEUED`] more wait
//! their turn, their keys served stale meanwhile. A refresh offered to a
//! full queue is not taken: its lead is dropped, which lands its flight as
//! abandoned, and the next caller of that key offers it again.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

/// Refreshes that run at once.
pub(super) const THREADS: usize = 4;
/// Refreshes that may wait for a thread.
pub(super) const QUEUED: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on a refresher thread, or gives it back when the queue is
/// full or no refresher thread could be started.
pub(super) fn offer(job: Job) -> Result<(), Job> {
    let Some(queue) = queue() else {
        return Err(job);
    };
    queue.try_send(job).map_err(|error| match error {
        TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
    })
}

/// The queue, with its threads started on first use; `None` if not one
/// thread could be started.
fn queue() -> Option<&'static SyncSender<Job>> {
    static QUEUE: OnceLock<Option<SyncSender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (sender, receiver) = mpsc::sync_channel::<Job>(QUEUED);
            let receiver = Arc::new(Mutex::new(receiver));
            let started = (0..THREADS)
                .filter(|index| {
                    let receiver = Arc::clone(&receiver);
                    std::thread::Builder::new()
                        .name(format!("resilience-refresh-{index}"))
                        .spawn(move || work(&receiver))
                        .is_ok()
                })
                .count();
            (started > 0).then_some(sender)
        })
        .as_ref()
}

/// A refresher thread: runs jobs until the process ends. A job that panics
/// has already landed its flight as abandoned (its lead dropped while
/// unwinding); the thread goes on with the next.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only by the thread waiting for the next job.
        let next = receiver.lock().recv();
        let Ok(job) = next else { return };
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}
