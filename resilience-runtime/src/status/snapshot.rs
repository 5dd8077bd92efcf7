//! What the status page shows, read from the registries at one moment:
//! the JSON of `GET <prefix>.json`, field by field.

use std::sync::Arc;

use serde::Serialize;

use super::rehearsal::InjectionRow;
use crate::breaker::{self, Breaker, State};
use crate::clock::millis;
use crate::retry::RetryCount;
use crate::stale_cache::{self, CacheSummary};
use crate::{bulkhead, retry};

/// Everything the status page shows, as `GET <prefix>.json` returns it.
///
/// No cached value, key of a cache, or error text is in it: only names,
/// states and counts (a keyed breaker's key is, as `Debug` prints it,
/// since an operator needs it to tell the breakers apart).
///
/// ```
/// use resilience_runtime::breaker::{registry, BreakerConfig};
/// use resilience_runtime::status::Snapshot;
///
/// registry().get_or_register("snapshot-docs", BreakerConfig::new()).force_open();
/// let snapshot = Snapshot::now();
/// let row = snapshot.breakers.iter().find(|b| b.name == "snapshot-docs").unwrap();
/// assert_eq!(row.state, "open");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every registered breaker, by name; a keyed name's breakers follow,
    /// by key.
    pub breakers: Vec<BreakerRow>,
    /// Every `#[stale_cache]` (and hand-made [`StaleCache`](crate::stale_cache::StaleCache))
    /// that has served a request, by function: its fields, and
    /// `oldest_stale_ms` for the oldest value served stale.
    pub caches: Vec<CacheSummary>,
    /// Every function that has retried, by name: `function`, and
    /// `retries`, its attempts after the first so far.
    pub retries: Vec<RetryCount>,
    /// Every bulkhead, by name.
    pub bulkheads: Vec<BulkheadRow>,
    /// Every retry budget in use, by name.
    pub retry_budgets: Vec<BudgetRow>,
    /// Every chaos injection in force, by target (always empty without the
    /// `chaos` feature).
    pub chaos: Vec<InjectionRow>,
    /// Whether the control routes answer (an admin token is configured).
    pub controls: bool,
}

/// One breaker in a [`Snapshot`].
///
/// ```
/// use resilience_runtime::breaker::{registry, BreakerConfig};
/// use resilience_runtime::status::Snapshot;
///
/// registry().get_or_register("row-docs", BreakerConfig::new());
/// let snapshot = Snapshot::now();
/// let row = snapshot.breakers.iter().find(|row| row.name == "row-docs").unwrap();
/// assert_eq!((row.state, row.key.as_deref(), row.open_ms), ("closed", None, None));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BreakerRow {
    /// Its name.
    pub name: &'static str,
    /// A keyed breaker's key, as `Debug` prints it (a string in quotes);
    /// `null` for a breaker of a name alone.
    pub key: Option<String>,
    /// `"closed"`, `"open"` or `"half_open"`.
    pub state: &'static str,
    /// Where its state came from: `"local"`, or `"fleet"` (another replica,
    /// over Redis).
    pub origin: &'static str,
    /// While open: how long it has been open, in milliseconds.
    pub open_ms: Option<u64>,
    /// While open: milliseconds until a call may probe (0 once due).
    pub next_probe_ms: Option<u64>,
    /// Calls in its window (made while closed).
    pub calls: u64,
    /// Failed calls in its window.
    pub failures: u64,
    /// `failures / calls`, or `null` for an empty window.
    pub failure_rate: Option<f64>,
}

/// One bulkhead in a [`Snapshot`].
///
/// ```
/// use resilience_runtime::bulkhead::{BulkheadConfig, BulkheadSlot};
/// use resilience_runtime::status::Snapshot;
///
/// static SLOT: BulkheadSlot = BulkheadSlot::new("row-docs", BulkheadConfig::new(4));
/// SLOT.bulkhead();
/// let snapshot = Snapshot::now();
/// let row = snapshot.bulkheads.iter().find(|row| row.name == "row-docs").unwrap();
/// assert_eq!((row.inflight, row.limit), (0, 4));
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BulkheadRow {
    /// Its name.
    pub name: &'static str,
    /// Calls running now.
    pub inflight: u32,
    /// How many may run at once now (below `max_concurrent` while an
    /// adaptive bulkhead holds it down).
    pub limit: u32,
}

/// One retry budget in a [`Snapshot`].
///
/// ```
/// use resilience_runtime::retry::budget;
/// use resilience_runtime::status::Snapshot;
///
/// budget::get("row-docs");
/// let snapshot = Snapshot::now();
/// let row = snapshot.retry_budgets.iter().find(|row| row.name == "row-docs").unwrap();
/// assert!(row.remaining > 0, "a new budget grants its minimum");
/// ```
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BudgetRow {
    /// Its name.
    pub name: &'static str,
    /// Retries it would grant now.
    pub remaining: u64,
}

impl Snapshot {
    /// Reads every registry now. The control routes are reported off; the
    /// status service says whether its own are on.
    ///
    /// ```
    /// use resilience_runtime::status::Snapshot;
    ///
    /// let snapshot = Snapshot::now();
    /// assert!(!snapshot.controls);
    /// println!("{} breakers, {} caches", snapshot.breakers.len(), snapshot.caches.len());
    /// ```
    pub fn now() -> Self {
        let registry = breaker::registry();
        let mut breakers: Vec<BreakerRow> = registry.breakers().iter().map(breaker_row).collect();
        for name in registry.keyed_names() {
            breakers.extend(registry.keyed_breakers(name).iter().map(breaker_row));
        }
        Self {
            breakers,
            caches: stale_cache::caches(),
            retries: retry::retries(),
            bulkheads: bulkhead::all().into_iter().map(bulkhead_row).collect(),
            retry_budgets: retry::budget::all()
                .into_iter()
                .map(|budget| BudgetRow {
                    name: budget.name(),
                    remaining: budget.remaining(),
                })
                .collect(),
            chaos: super::rehearsal::rows(),
            controls: false,
        }
    }
}

pub(super) fn breaker_row(breaker: &Arc<Breaker>) -> BreakerRow {
    let counts = breaker.counts();
    let period = breaker.open_period();
    BreakerRow {
        name: breaker.name(),
        key: breaker.key().map(str::to_owned),
        state: match breaker.state() {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
        },
        origin: breaker.origin().as_str(),
        open_ms: period.map(|period| millis(period.open_so_far)),
        next_probe_ms: period.map(|period| millis(period.next_probe_in)),
        calls: counts.calls(),
        failures: counts.failures,
        failure_rate: counts.failure_rate(),
    }
}

fn bulkhead_row(bulkhead: &'static bulkhead::Bulkhead) -> BulkheadRow {
    BulkheadRow {
        name: bulkhead.name(),
        inflight: bulkhead.inflight(),
        limit: bulkhead.limit(),
    }
}
