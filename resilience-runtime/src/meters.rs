//! The one door to the `metrics` crate. Each attribute's module owns its
//! metrics — names, labels, when they count — as [`CounterDef`] and
//! [`GaugeDef`] statics, and registers its handles through them; this file
//! knows only how to reach the recorder.
//!
//! With the `metrics` feature off, a handle is an empty struct and every
//! call does nothing, so the attributes' meters compile the same either way
//! and nothing of `metrics` is built.
//!
//! Hot paths (a breaker's closed path, a cache hit) never look a metric up
//! by name: they hold handles registered once. A handle registered before a
//! recorder is installed stays a no-op: install the recorder before the
//! first call.

#[cfg(feature = "metrics")]
pub(crate) use metrics::{Counter, Gauge};

/// Whether metrics are recorded at all (feature `metrics`): a hot path
/// returns before any work when they are not.
pub(crate) const ENABLED: bool = cfg!(feature = "metrics");

/// Label pairs of one series, as `[("breaker", name), ("outcome", "success")]`.
pub(crate) type Labels<'a> = &'a [(&'static str, &'static str)];

/// Hands every count kept back for a batch over to its counter: see
/// [`crate::flush_metrics`].
pub(crate) fn flush() {
    crate::breaker::flush_all();
    crate::stale_cache::flush_thread();
}

/// A metric's name and description, told to the recorder once, on the
/// first registration.
struct Described {
    name: &'static str,
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    help: &'static str,
    #[cfg(feature = "metrics")]
    once: std::sync::Once,
}

impl Described {
    const fn new(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            #[cfg(feature = "metrics")]
            once: std::sync::Once::new(),
        }
    }

    /// Describes the metric with `describe(name, help)` the first time.
    #[cfg(feature = "metrics")]
    fn once(&self, describe: impl FnOnce(&'static str, &'static str)) -> &'static str {
        self.once.call_once(|| describe(self.name, self.help));
        self.name
    }
}

/// A counter's name and description.
pub(crate) struct CounterDef(Described);

impl CounterDef {
    pub(crate) const fn new(name: &'static str, help: &'static str) -> Self {
        Self(Described::new(name, help))
    }

    /// The handle of the series with `labels`.
    pub(crate) fn register(&self, labels: Labels<'_>) -> Counter {
        #[cfg(feature = "metrics")]
        {
            let name = self.0.once(|name, help| {
                metrics::describe_counter!(name, metrics::Unit::Count, help);
            });
            metrics::counter!(target: "resilience", name, labels)
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = (self.0.name, labels);
            Counter
        }
    }

    /// Adds one to the series with `labels`, looked up by name: for failure
    /// paths, which do not hold a handle.
    pub(crate) fn increment(&self, labels: Labels<'_>) {
        self.register(labels).increment(1);
    }
}

/// A gauge's name and description.
pub(crate) struct GaugeDef(Described);

impl GaugeDef {
    pub(crate) const fn new(name: &'static str, help: &'static str) -> Self {
        Self(Described::new(name, help))
    }

    /// The handle of the series with `labels`.
    pub(crate) fn register(&self, labels: Labels<'_>) -> Gauge {
        #[cfg(feature = "metrics")]
        {
            let name = self
                .0
                .once(|name, help| metrics::describe_gauge!(name, help));
            metrics::gauge!(target: "resilience", name, labels)
        }
        #[cfg(not(feature = "metrics"))]
        {
            let _ = (self.0.name, labels);
            Gauge
        }
    }
}

/// A counter handle that counts nothing (feature `metrics` off).
#[cfg(not(feature = "metrics"))]
#[derive(Clone)]
pub(crate) struct Counter;

#[cfg(not(feature = "metrics"))]
impl Counter {
    #[inline(always)]
    pub(crate) fn increment(&self, _value: u64) {}
}

/// A gauge handle that records nothing (feature `metrics` off).
#[cfg(not(feature = "metrics"))]
#[derive(Clone)]
pub(crate) struct Gauge;

#[cfg(not(feature = "metrics"))]
impl Gauge {
    #[inline(always)]
    pub(crate) fn set(&self, _value: f64) {}
}

#[cfg(all(test, feature = "metrics"))]
mod tests;
