//! The one clock every time measurement reads, and a cheap recent reading of
//! it for hot paths.
//!
//! `tokio::time::Instant` is `std::time::Instant` outside a runtime, and
//! follows a paused runtime's clock inside one (with tokio's `test-util`), so
//! backoff, breaker windows and cache ages are all driven by
//! `tokio::time::pause()` / `advance()` in tests.
//!
//! # The recent reading and its error bound
//!
//! An exact reading costs a `clock_gettime` (25–35 ns on a virtual machine),
//! more than all the rest of a breaker's closed path. [`recent_since`] returns a
//! reading of that same clock kept per thread and taken afresh every
//! *stride* calls; the stride adapts to how fast the thread's calls come:
//!
//! - when the readings at the two ends of a stride are more than
//!   [`STALE_BOUND`] apart, or equal (the clock did not move: a paused
//!   runtime between two `advance`s), the stride drops to 1 — every call
//!   reads the clock;
//! - when they are at most `STALE_BOUND` apart, the stride doubles, up to
//!   [`MAX_STRIDE`].
//!
//! So a reading [`recent_since`] returns is the exact reading of this thread at
//! most `MAX_STRIDE - 1` calls earlier, and, while the thread's calls keep
//! coming at least every `STALE_BOUND / MAX_STRIDE` on average, at most
//! about `STALE_BOUND` old. The one case beyond `STALE_BOUND`: a thread
//! whose calls came that fast and then paused dates up to `MAX_STRIDE - 1`
//! calls after the pause at the last reading before it (the next reading
//! sees the gap and drops the stride to 1). A thread whose calls come
//! slower than that always reads exactly, and so does a paused runtime that
//! moves time by more than `STALE_BOUND` at once or not at all — every test
//! of this crate on paused time sees exact readings.
//!
//! [`fresh`] reads exactly and starts this thread's recent reading over
//! from that reading (stride 1): where a decision is taken, the reading is
//! exact.
//!
//! # The tick reading and its error bound
//!
//! A recent reading may be from before a pause in the thread's calls, which
//! is harmless for dating a success but not for a decision that compares
//! "now" with a deadline: a cache hit's freshness, a breaker's rejection.
//! Those use [`within_tick`], whose error is bounded in *time*: each thread
//! keeps its last exact reading with the time of the kernel's *coarse*
//! clock it was taken at (`CLOCK_MONOTONIC_COARSE` on Linux, through
//! `coarsetime`: a few ns to read, moving once per kernel tick) and reuses
//! it while the coarse clock has not moved. A tick reading is so less than
//! one coarse tick old. The coarse clock is the one `coarsetime` 0.1 reads
//! (its `Instant::_now`), and its tick is documented on three platforms:
//!
//! - Linux and Android: `CLOCK_MONOTONIC_COARSE`, one kernel tick — 4 ms at
//!   the common 250 Hz (1 ms at 1000 Hz, 10 ms at 100 Hz);
//! - FreeBSD: `CLOCK_MONOTONIC_FAST`, a time stamp cached in the kernel and
//!   updated at least once per timer tick (1 / `kern.hz`: 1 ms at the
//!   default 1000 Hz);
//! - Windows: `GetTickCount64`, one tick of the system timer, 10 to 16 ms
//!   (15.6 ms by default).
//!
//! Elsewhere no bound is documented: macOS's `CLOCK_MONOTONIC_RAW_APPROX`
//! is a value cached at context switches that Apple says may be
//! milliseconds old, DragonFly's `CLOCK_MONOTONIC_FAST` documents none, and
//! the other Unixes read `gettimeofday`, a wall clock that may be stepped
//! back. There ([`COARSE`] is [`Coarse::Unknown`]) a tick reading is an
//! exact reading, at the cost of a clock read per call.
//!
//! A tick reading is never earlier than the instant its caller says it cannot be
//! before (a value's load, a breaker's opening): a reading kept from before
//! that is replaced by an exact one, so a deadline set after the reading is
//! never judged on it.
//!
//! Tokio's paused clock moves only by `advance()`, which no coarse clock
//! sees, and only inside a runtime. So inside a tokio runtime context (a
//! task, `block_on`, `spawn_blocking`) [`within_tick`] reads exactly;
//! outside one, tokio's clock *is* the real monotonic clock, which the
//! coarse clock follows.

use std::cell::Cell;
use std::time::Duration;

pub(crate) use tokio::time::Instant;

/// The most a [`recent_since`] reading lags while calls keep coming; see the
/// module docs.
pub(crate) const STALE_BOUND: Duration = Duration::from_micros(100);

/// The most calls that share one reading.
pub(crate) const MAX_STRIDE: u32 = 64;

/// Whether the coarse clock's tick has a documented bound on a platform;
/// see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coarse {
    /// It moves at least once per kernel or timer tick: a tick reading may
    /// reuse a reading while it has not moved.
    Ticks,
    /// No bound is documented: a tick reading reads exactly.
    Unknown,
}

/// This platform's coarse clock.
pub(crate) const COARSE: Coarse = coarse_clock(std::env::consts::OS);

/// The coarse clock of `target_os`, as `coarsetime` 0.1 reads it there.
const fn coarse_clock(target_os: &str) -> Coarse {
    const TICKS: [&str; 4] = ["linux", "android", "freebsd", "windows"];
    let mut i = 0;
    while i < TICKS.len() {
        if same(TICKS[i], target_os) {
            return Coarse::Ticks;
        }
        i += 1;
    }
    Coarse::Unknown
}

/// `a == b`, in a `const fn`.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The current instant on the one clock.
#[inline]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// A [`recent_since`] or [`within_tick_since`] reading: nanoseconds from
/// an origin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Since {
    /// Nanoseconds from the origin to the reading; 0 for a reading before
    /// it (another paused runtime's clock).
    pub(crate) nanos: u64,
    /// Read for this call (exact), not reused from an earlier call.
    pub(crate) fresh: bool,
}

/// A thread's reading measured from the origin it was last asked from: a
/// thread that keeps asking from one origin (one breaker) converts once per
/// reading, not once per call.
#[derive(Clone, Copy)]
struct FromOrigin {
    origin: Option<Instant>,
    nanos: u64,
}

impl FromOrigin {
    const NONE: Self = Self {
        origin: None,
        nanos: 0,
    };

    /// `at` as nanoseconds from `origin`, converted only when the origin
    /// changed since the last call for the same reading.
    #[inline]
    fn nanos(&mut self, origin: Instant, at: Instant) -> u64 {
        if self.origin != Some(origin) {
            self.origin = Some(origin);
            self.nanos = nanos_between(origin, at);
        }
        self.nanos
    }
}

/// This thread's recent reading.
#[derive(Clone, Copy)]
struct Recent {
    /// The last exact reading; `None` before the first.
    at: Option<Instant>,
    /// Calls that may still use `at` before the next reading.
    left: u32,
    /// Calls per reading now.
    stride: u32,
    /// `at`, from the origin last asked for.
    since: FromOrigin,
}

impl Recent {
    const START: Self = Self {
        at: None,
        left: 0,
        stride: 1,
        since: FromOrigin::NONE,
    };
}

thread_local! {
    static RECENT: Cell<Recent> = const { Cell::new(Recent::START) };
}

/// This thread's recent reading (see the [module docs](self)), as
/// nanoseconds from `origin`: converted once per reading while the thread
/// keeps asking from the same origin.
#[inline]
pub(crate) fn recent_since(origin: Instant) -> Since {
    let since = |state: &mut Recent, at| state.since.nanos(origin, at);
    if let Some((_, nanos)) = reuse(since) {
        return Since {
            nanos,
            fresh: false,
        };
    }
    let at = reread();
    let nanos = RECENT
        .try_with(|recent| {
            let mut state = recent.get();
            let nanos = since(&mut state, at);
            recent.set(state);
            nanos
        })
        .unwrap_or_else(|_| nanos_between(origin, at));
    Since { nanos, fresh: true }
}

/// Whether this thread calls so fast that one recent reading serves
/// [`MAX_STRIDE`] of its calls.
#[inline]
pub(crate) fn at_full_speed() -> bool {
    RECENT
        .try_with(|recent| recent.get().stride == MAX_STRIDE)
        .unwrap_or(false)
}

/// The thread's reading, if it may serve one more call (which it counts),
/// with what `with` makes of it and the thread's state.
#[inline]
fn reuse<T>(with: impl FnOnce(&mut Recent, Instant) -> T) -> Option<(Instant, T)> {
    RECENT
        .try_with(|recent| {
            let mut state = recent.get();
            let at = state.at.filter(|_| state.left > 0)?;
            state.left -= 1;
            let made = with(&mut state, at);
            recent.set(state);
            Some((at, made))
        })
        .ok()
        .flatten()
}

/// An exact reading, which also starts this thread's recent reading over
/// (stride 1): for the calls that decide something.
#[inline]
pub(crate) fn fresh() -> Instant {
    let at = now();
    // `try_with`: a thread-local destructor may call a breaker.
    let _ = RECENT.try_with(|recent| {
        recent.set(Recent {
            at: Some(at),
            ..Recent::START
        })
    });
    at
}

/// Nanoseconds from `origin` to `at`, saturating; 0 for an earlier `at`.
#[inline]
pub(crate) fn nanos_between(origin: Instant, at: Instant) -> u64 {
    let duration = at.saturating_duration_since(origin);
    duration
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(duration.subsec_nanos()))
}

/// The end of a stride: reads the clock and sets the next stride from how
/// far it moved.
#[cold]
#[inline(never)]
fn reread() -> Instant {
    let at = now();
    let _ = RECENT.try_with(|recent| {
        let state = recent.get();
        let moved = state
            .at
            .map_or(Duration::ZERO, |last| at.saturating_duration_since(last));
        let stride = if moved.is_zero() || moved > STALE_BOUND {
            1
        } else {
            (state.stride * 2).min(MAX_STRIDE)
        };
        recent.set(Recent {
            at: Some(at),
            left: stride - 1,
            stride,
            ..Recent::START
        });
    });
    at
}

/// A thread's last exact reading for [`within_tick`], and the coarse time it
/// was taken at.
#[derive(Clone, Copy)]
struct Ticked {
    coarse: u64,
    at: Instant,
    /// `at`, from the origin [`within_tick_since`] was last asked from.
    since: FromOrigin,
}

impl Ticked {
    /// An exact reading `at`, taken at the coarse time `coarse`.
    fn new(coarse: u64, at: Instant) -> Self {
        Self {
            coarse,
            at,
            since: FromOrigin::NONE,
        }
    }
}

thread_local! {
    static TICKED: Cell<Option<Ticked>> = const { Cell::new(None) };
}

/// A reading of the one clock less than one coarse tick old and not before
/// `not_before`; exact inside a tokio runtime. See the [module docs](self).
#[inline]
pub(crate) fn within_tick(not_before: Instant) -> Instant {
    tick(|last| (last.at >= not_before).then_some(last.at)).unwrap_or_else(|at| at)
}

/// A reading of the one clock less than one coarse tick old, with no lower
/// bound: for a start time, where an early reading only makes the time
/// since look longer. Exact inside a tokio runtime.
#[inline]
pub(crate) fn this_tick() -> Instant {
    tick(|last| Some(last.at)).unwrap_or_else(|at| at)
}

/// [`within_tick`] as nanoseconds from `origin`, not before `not_before`
/// nanoseconds from it: converted once per reading while the thread keeps
/// asking from the same origin.
#[inline]
pub(crate) fn within_tick_since(origin: Instant, not_before: u64) -> Since {
    let kept = tick(|last| {
        let nanos = last.since.nanos(origin, last.at);
        (nanos >= not_before).then_some(nanos)
    });
    match kept {
        Ok(nanos) => Since {
            nanos,
            fresh: false,
        },
        Err(at) => Since {
            nanos: nanos_between(origin, at),
            fresh: true,
        },
    }
}

/// What `reuse` makes of this thread's kept reading, if it may serve this
/// call (outside a runtime, within its coarse tick, and as `reuse` says);
/// else an exact reading, kept for the calls to come outside a runtime.
#[inline]
fn tick<T>(reuse: impl FnOnce(&mut Ticked) -> Option<T>) -> Result<T, Instant> {
    tick_on(COARSE, reuse)
}

/// [`tick`] on a platform whose coarse clock is `coarse`.
#[inline(always)]
fn tick_on<T>(coarse: Coarse, reuse: impl FnOnce(&mut Ticked) -> Option<T>) -> Result<T, Instant> {
    // A coarse clock of unknown lag bounds nothing; a reading inside a
    // runtime may be on its paused clock: never kept.
    if coarse == Coarse::Unknown || in_runtime() {
        return Err(now());
    }
    let coarse = coarsetime::Instant::now_without_cache_update().as_ticks();
    let kept = TICKED.try_with(|cell| {
        let kept = cell.get().filter(|last| last.coarse == coarse)?;
        let mut last = kept;
        let made = reuse(&mut last)?;
        // Written back only when `reuse` converted it for a new origin.
        if last.since.origin != kept.since.origin {
            cell.set(Some(last));
        }
        Some(made)
    });
    kept.ok().flatten().ok_or_else(|| reread_tick(coarse))
}

/// Whether this thread is in a tokio runtime context, where a paused clock
/// may move without real time moving.
#[inline]
fn in_runtime() -> bool {
    // A task's id is one thread-local read; outside a task (`block_on`,
    // `spawn_blocking`) the handle tells, and is absent outside a runtime.
    tokio::task::try_id().is_some() || tokio::runtime::Handle::try_current().is_ok()
}

/// Reads the one clock and keeps the reading for the coarse time `coarse`.
#[cold]
#[inline(never)]
fn reread_tick(coarse: u64) -> Instant {
    let at = now();
    let kept = Ticked::new(coarse, at);
    // `try_with`: a thread-local destructor may call a breaker or a cache.
    let _ = TICKED.try_with(|last| last.set(Some(kept)));
    at
}

/// Whole milliseconds, saturating: the unit of every `*_ms` event field.
#[inline]
pub(crate) fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reading of the one clock, and whether it was taken for this call.
    ///
    /// [`recent_since`] without the origin: what the tests observe.
    #[derive(Debug, Clone, Copy)]
    struct Reading {
        /// The instant read.
        at: Instant,
        /// Read for this call (exact), not reused from an earlier call.
        fresh: bool,
    }

    /// A recent reading of the one clock: this thread's last exact reading,
    /// while it is within the bound in the [module docs](self), else an exact
    /// one.
    #[inline]
    fn recent() -> Reading {
        match reuse(|_, _| ()) {
            Some((at, ())) => Reading { at, fresh: false },
            None => Reading {
                at: reread(),
                fresh: true,
            },
        }
    }

    /// Calls `recent()` until it reads afresh; the calls it took.
    fn calls_per_reading() -> u32 {
        let mut calls = 1;
        while !recent().fresh {
            calls += 1;
        }
        calls
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_that_does_not_move_is_read_on_every_call() {
        fresh();
        for _ in 0..200 {
            assert!(recent().fresh);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_followed_exactly_across_large_steps() {
        let start = fresh();
        for step in 1..=50u32 {
            tokio::time::advance(Duration::from_millis(1)).await;
            let reading = recent();
            assert!(reading.fresh);
            assert_eq!(reading.at - start, Duration::from_millis(step.into()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn small_steps_grow_the_stride_to_the_cap_and_a_gap_drops_it() {
        fresh();
        let step = STALE_BOUND / (2 * MAX_STRIDE);
        let mut strides = Vec::new();
        for _ in 0..10 {
            let mut calls = 0;
            loop {
                tokio::time::advance(step).await;
                calls += 1;
                if recent().fresh {
                    break;
                }
            }
            strides.push(calls);
        }
        assert_eq!(strides, [1, 2, 4, 8, 16, 32, 64, 64, 64, 64]);
        // A gap longer than the bound: the calls of the stride under way are
        // dated before it, then the clock is read on every call.
        tokio::time::advance(STALE_BOUND * 2).await;
        let before_gap = calls_per_reading();
        assert_eq!(before_gap, MAX_STRIDE, "the stride under way runs out");
        assert!(recent().fresh, "after the gap: stride 1");
    }

    #[tokio::test(start_paused = true)]
    async fn every_reading_is_within_the_bound_while_calls_keep_coming() {
        fresh();
        let step = STALE_BOUND / MAX_STRIDE;
        let mut exact = now();
        for _ in 0..5_000 {
            tokio::time::advance(step).await;
            exact += step;
            let lag = exact - recent().at;
            assert!(lag <= STALE_BOUND, "lag {lag:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readings_since_an_origin_follow_the_reading_whatever_the_origin() {
        let origin = fresh();
        tokio::time::advance(Duration::from_secs(2)).await;
        let other = now();
        let step = STALE_BOUND / (2 * MAX_STRIDE);
        for _ in 0..500 {
            tokio::time::advance(step).await;
            // Alternating origins share the reading, each measured from its own.
            let (from_origin, from_other, reading) =
                (recent_since(origin), recent_since(other), recent());
            assert_eq!(from_origin.nanos, nanos_between(origin, reading.at));
            assert_eq!(from_other.nanos, nanos_between(other, reading.at));
        }
        assert_eq!(recent_since(now() + Duration::from_secs(1)).nanos, 0);
    }

    /// Keeps `at` as this thread's tick reading for the coarse time `coarse`.
    fn keep_tick(coarse: u64, at: Instant) {
        TICKED.set(Some(Ticked::new(coarse, at)));
    }

    /// The coarse clock's time now.
    fn coarse_now() -> u64 {
        coarsetime::Instant::now_without_cache_update().as_ticks()
    }

    #[test]
    fn a_tick_reading_is_never_before_what_the_caller_says() {
        // A reading kept this tick, dated 1 s ago so that it would be
        // wrong: asked for one not before 1 ms ago, a fresh one is read.
        let now = now();
        keep_tick(coarse_now(), now - Duration::from_secs(1));
        assert!(within_tick(now - Duration::from_millis(1)) >= now);
    }

    #[test]
    fn a_kept_tick_reading_serves_only_within_its_coarse_tick() {
        let long_ago = now() - Duration::from_secs(60);
        keep_tick(0, long_ago);
        assert!(within_tick(long_ago) - long_ago >= Duration::from_secs(60));
    }

    #[test]
    fn within_its_tick_the_kept_reading_is_reused() {
        // Kept as if taken this tick, 60 s ago: it is what the call gets,
        // unless a tick passed in between (this test cannot hold the tick).
        let long_ago = now() - Duration::from_secs(60);
        let coarse = coarse_now();
        keep_tick(coarse, long_ago);
        let reading = within_tick(long_ago);
        let ticked = coarse_now() != coarse;
        assert!(
            reading == long_ago || ticked || COARSE == Coarse::Unknown,
            "the kept reading unless a tick passed"
        );
    }

    #[test]
    fn the_coarse_clock_is_trusted_only_where_its_tick_is_documented() {
        for os in ["linux", "android", "freebsd", "windows"] {
            assert_eq!(coarse_clock(os), Coarse::Ticks, "{os}");
        }
        for os in [
            "macos",
            "ios",
            "dragonfly",
            "openbsd",
            "netbsd",
            "illumos",
            "wasi",
            "",
        ] {
            assert_eq!(coarse_clock(os), Coarse::Unknown, "{os}");
        }
    }

    #[test]
    fn where_the_coarse_tick_is_unknown_a_tick_reading_is_exact() {
        // Kept this very tick, 60 s ago: reused where the tick is known,
        // never where it is not.
        let long_ago = now() - Duration::from_secs(60);
        keep_tick(coarse_now(), long_ago);
        let before = now();
        let reading = tick_on(Coarse::Unknown, |last| Some(last.at));
        assert!(matches!(reading, Err(at) if at >= before), "{reading:?}");
    }

    #[test]
    fn a_start_time_is_the_kept_tick_reading_and_never_later_than_now() {
        let earlier = now() - Duration::from_millis(3);
        let coarse = coarse_now();
        keep_tick(coarse, earlier);
        let start = this_tick();
        assert!(start <= now());
        assert!(start == earlier || coarse_now() != coarse || COARSE == Coarse::Unknown);
    }

    #[tokio::test(start_paused = true)]
    async fn inside_a_runtime_a_start_time_is_exact() {
        keep_tick(coarse_now(), now() - Duration::from_secs(1));
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(this_tick(), now());
    }

    #[test]
    fn a_tick_reading_since_an_origin_is_measured_from_it_and_bounded_below() {
        let at = now();
        let coarse = coarse_now();
        keep_tick(coarse, at);
        let origin = at - Duration::from_secs(2);
        let other = at - Duration::from_secs(5);
        let (from_origin, from_other) = (within_tick_since(origin, 0), within_tick_since(other, 0));
        let not_before = within_tick_since(origin, 3_000_000_000);
        if coarse_now() == coarse && COARSE == Coarse::Ticks {
            assert_eq!(
                (from_origin.nanos, from_origin.fresh),
                (2_000_000_000, false)
            );
            assert_eq!((from_other.nanos, from_other.fresh), (5_000_000_000, false));
        }
        // The kept reading is 2 s from the origin, so never serves "not
        // before 3 s": an exact reading does, and is kept.
        assert!(not_before.fresh);
        assert!(not_before.nanos >= 2_000_000_000);
    }

    #[tokio::test(start_paused = true)]
    async fn inside_a_runtime_a_tick_reading_follows_the_paused_clock() {
        let start = now();
        assert_eq!(within_tick(start), start);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(
            within_tick(start) - start,
            Duration::from_secs(5),
            "no coarse tick passed, yet 5 s did"
        );
    }

    #[test]
    fn in_block_on_a_tick_reading_follows_the_paused_clock() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let ahead = runtime.block_on(async {
            let start = now();
            tokio::time::advance(Duration::from_secs(6)).await;
            assert_eq!(within_tick(start) - start, Duration::from_secs(6));
            now()
        });
        // Nor is a paused reading kept for the calls outside the runtime.
        assert!(within_tick(now()) < ahead);
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_reads_exactly_and_starts_over() {
        fresh();
        let step = STALE_BOUND / (2 * MAX_STRIDE);
        for _ in 0..200 {
            tokio::time::advance(step).await;
            recent();
        }
        tokio::time::advance(step).await;
        assert_eq!(fresh(), now());
        tokio::time::advance(step).await;
        assert!(recent().fresh, "stride 1 after `fresh`");
    }
}
