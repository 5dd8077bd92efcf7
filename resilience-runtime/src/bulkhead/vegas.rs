//! The adaptive limit: TCP Vegas's rule, as Netflix concurrency-limits'
//! `VegasLimit` applies it to calls, fed the latency of each call a
//! bulkhead let through.
//!
//! The least latency seen is the dependency's no-load latency; a window's
//! average latency above it says how many calls queue there:
//! `queue = limit × (1 − no_load / latency)`. Below `alpha` (3 · log10
//! limit) the limit grows, above `beta` (6 · log10 limit) it shrinks by
//! log10 limit per window; so it settles where a few calls queue. Being
//! measured against the least latency, not an average, a sustained
//! overload cannot become the new normal (an average-based rule, Netflix's
//! Gradient2, let it: its long average rose with the overload and the
//! limit stayed high). The no-load latency is never learned again: a
//! dependency that became slower for good reads as queueing, and keeps a
//! lower limit (the safe side; the bulkhead's `max_concurrent` of a new
//! deploy starts over). A window in which the calls used less than half
//! the limit says nothing about it: an idle service keeps its limit.

/// Samples per update of the limit.
const WINDOW: u32 = 10;

/// The controller of one adaptive bulkhead.
#[derive(Debug)]
pub(super) struct Vegas {
    floor: f64,
    ceiling: f64,
    limit: f64,
    no_load_nanos: Option<f64>,
    window_nanos: f64,
    window_samples: u32,
    window_inflight: u32,
}

impl Vegas {
    /// A limit between `floor` and `ceiling`, starting at `ceiling`.
    pub(super) fn new(floor: u32, ceiling: u32) -> Self {
        Self {
            floor: f64::from(floor),
            ceiling: f64::from(ceiling),
            limit: f64::from(ceiling),
            no_load_nanos: None,
            window_nanos: 0.0,
            window_samples: 0,
            window_inflight: 0,
        }
    }

    /// A call took `nanos` with `inflight` calls running as it ended. The
    /// new limit when a window of samples closed with it, else `None`.
    pub(super) fn sample(&mut self, nanos: u64, inflight: u32) -> Option<u32> {
        self.window_nanos += nanos as f64;
        self.window_samples += 1;
        self.window_inflight = self.window_inflight.max(inflight);
        if self.window_samples < WINDOW {
            return None;
        }
        let latency = (self.window_nanos / f64::from(self.window_samples)).max(1.0);
        let inflight = self.window_inflight;
        self.window_nanos = 0.0;
        self.window_samples = 0;
        self.window_inflight = 0;
        Some(self.update(latency, inflight))
    }

    fn update(&mut self, latency: f64, inflight: u32) -> u32 {
        let no_load = self
            .no_load_nanos
            .map_or(latency, |least| least.min(latency));
        self.no_load_nanos = Some(no_load);
        if f64::from(inflight) * 2.0 < self.limit {
            // App-limited: the window says nothing about the limit.
            return self.limit.round() as u32;
        }
        let log = self.limit.log10().max(1.0);
        let queue = self.limit * (1.0 - no_load / latency);
        let limit = if queue > 6.0 * log {
            self.limit - log
        } else if queue <= log {
            self.limit + 6.0 * log
        } else if queue < 3.0 * log {
            self.limit + log
        } else {
            self.limit
        };
        self.limit = limit.clamp(self.floor, self.ceiling);
        self.limit.round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(vegas: &mut Vegas, nanos: u64, inflight: u32) -> u32 {
        let mut limit = None;
        for _ in 0..WINDOW {
            limit = vegas.sample(nanos, inflight);
        }
        limit.expect("a window closes every WINDOW samples")
    }

    #[test]
    fn steady_latency_keeps_the_limit_at_its_ceiling() {
        let mut vegas = Vegas::new(2, 50);
        for _ in 0..100 {
            assert_eq!(window(&mut vegas, 50_000_000, 50), 50);
        }
    }

    /// A dependency of 20 workers: latency grows with the calls past 20.
    /// The limit settles a few calls above them, and stays under a
    /// sustained overload.
    #[test]
    fn the_limit_settles_near_the_dependency_s_capacity() {
        let mut vegas = Vegas::new(1, 100);
        let latency = |limit: u32| 50_000_000 * u64::from(limit.max(20)) / 20;
        window(&mut vegas, 50_000_000, 10); // the no-load latency, unloaded
        let mut limit = 100;
        for _ in 0..2000 {
            limit = window(&mut vegas, latency(limit), limit);
        }
        assert!((20..=35).contains(&limit), "settled at {limit}");
    }

    #[test]
    fn recovery_grows_the_limit_back() {
        let mut vegas = Vegas::new(4, 100);
        window(&mut vegas, 50_000_000, 10);
        let mut limit = 100;
        for _ in 0..200 {
            limit = window(&mut vegas, 200_000_000, limit);
        }
        assert!(limit < 30, "shrunk: {limit}");
        for _ in 0..200 {
            limit = window(&mut vegas, 50_000_000, limit);
        }
        assert_eq!(limit, 100, "grown back");
    }

    #[test]
    fn an_idle_service_keeps_its_limit() {
        let mut vegas = Vegas::new(4, 100);
        window(&mut vegas, 50_000_000, 100);
        for _ in 0..50 {
            assert_eq!(window(&mut vegas, 60_000_000, 3), 100, "app-limited");
        }
    }
}
