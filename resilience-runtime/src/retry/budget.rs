//! Retry budgets: retries of every function that names one budget, limited
//! to a share of their calls, so that retries cannot become a storm.
//!
//! `#[retry(budget = "payments")]` retries through the budget named
//! `"payments"`, shared by every function that names it. Each call made
//! through it deposits; each retry withdraws. A retry is allowed when the
//! retries the budget allowed in its window, this one included, are at
//! most
//!
//! > `ratio` × the calls made through it in the window (rounded down)
//! > \+ `min_per_sec` × the window's seconds.
//!
//! The window is the current second and the `window − 1` whole seconds
//! before it, counted from the budget's first use. The defaults are
//! Finagle's `RetryBudget`: **20 % of the calls over 10 s, plus 10 retries
//! a second** (the floor that lets a quiet service retry). When the budget
//! is empty the call does not retry: it returns the error it has at once,
//! with a `resilience` event (`outcome = "retry_budget_exhausted"`) and
//! `retry_budget_exhausted_total{budget}`.
//!
//! The rule is exact under concurrency: two retries asked for at once
//! never both take the budget's last one, and ratios are kept in
//! millionths (0.2 is exactly a fifth). A call deposits with one atomic
//! add and no lock; a retry, rare and about to wait anyway, takes a lock.
//!
//! Configure a budget by name before its first use:
//!
//! ```
//! use std::time::Duration;
//! use resilience_runtime::retry::budget::{self, RetryBudgetConfig};
//!
//! budget::configure(
//!     "search",
//!     RetryBudgetConfig::new()
//!         .ratio(0.1)
//!         .min_per_sec(2)
//!         .window(Duration::from_secs(30)),
//! )
//! .unwrap();
//! assert_eq!(budget::get("search").config().ratio_value(), 0.1);
//!
//! // Once in use, its rule is fixed:
//! let again = budget::configure("search", RetryBudgetConfig::new());
//! assert!(matches!(again, Err(budget::BudgetError::InUse { .. })));
//! ```

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::{self, Instant};
use crate::meters::{Counter, CounterDef};

mod ledger;

use ledger::{Ledger, MILLION};

/// `retry_budget_exhausted_total{budget}`: retries a budget refused.
static RETRY_BUDGET_EXHAUSTED_TOTAL: CounterDef = CounterDef::new(
    "retry_budget_exhausted_total",
    "Retries a retry budget refused: the call returned its error at once",
);

/// The rule of a retry budget: its ratio, its floor and its window.
///
/// ```
/// use std::time::Duration;
/// use resilience_runtime::retry::budget::RetryBudgetConfig;
///
/// let config = RetryBudgetConfig::new();
/// assert_eq!(config.ratio_value(), 0.2);
/// assert_eq!(config.min_per_sec_value(), 10);
/// assert_eq!(config.window_value(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudgetConfig {
    ratio: f64,
    min_per_sec: u32,
    window: Duration,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryBudgetConfig {
    /// 20 % of the calls over 10 s, plus 10 retries a second (Finagle's).
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// assert_eq!(RetryBudgetConfig::new(), RetryBudgetConfig::default());
    /// ```
    pub const fn new() -> Self {
        Self {
            ratio: 0.2,
            min_per_sec: 10,
            window: Duration::from_secs(10),
        }
    }

    /// Retries allowed per call made through the budget: 0.2 lets one call
    /// in five retry once. From 0 to 1000, to a millionth.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// assert_eq!(RetryBudgetConfig::new().ratio(0.05).ratio_value(), 0.05);
    /// ```
    pub const fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = ratio;
        self
    }

    /// Retries allowed a second whatever the calls (so a quiet service can
    /// retry): the window allows this many times its seconds.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// assert_eq!(RetryBudgetConfig::new().min_per_sec(0).min_per_sec_value(), 0);
    /// ```
    pub const fn min_per_sec(mut self, retries: u32) -> Self {
        self.min_per_sec = retries;
        self
    }

    /// How far back calls and retries count: whole seconds, 1 s to 1 h.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// # use std::time::Duration;
    /// let config = RetryBudgetConfig::new().window(Duration::from_secs(60));
    /// assert_eq!(config.window_value(), Duration::from_secs(60));
    /// ```
    pub const fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The ratio of retries to calls.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// assert_eq!(RetryBudgetConfig::new().ratio_value(), 0.2);
    /// ```
    pub const fn ratio_value(&self) -> f64 {
        self.ratio
    }

    /// The retries allowed a second whatever the calls.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// assert_eq!(RetryBudgetConfig::new().min_per_sec_value(), 10);
    /// ```
    pub const fn min_per_sec_value(&self) -> u32 {
        self.min_per_sec
    }

    /// The window.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::RetryBudgetConfig;
    /// # use std::time::Duration;
    /// assert_eq!(RetryBudgetConfig::new().window_value(), Duration::from_secs(10));
    /// ```
    pub const fn window_value(&self) -> Duration {
        self.window
    }

    /// The rule as the ledger keeps it, or what is wrong with it.
    fn ledger(&self, name: &'static str) -> Result<Ledger, BudgetError> {
        let invalid = |reason| BudgetError::Invalid { name, reason };
        if !(0.0..=1000.0).contains(&self.ratio) {
            return Err(invalid(
                "`ratio` must be from 0 to 1000 (0.2: one retry per five calls)",
            ));
        }
        let seconds = self.window.as_secs();
        if self.window.subsec_nanos() != 0 || !(1..=3600).contains(&seconds) {
            return Err(invalid("`window` must be whole seconds, from 1 s to 1 h"));
        }
        let ratio_ppm = (self.ratio * MILLION as f64).round() as u64;
        Ok(Ledger::new(seconds as u32, ratio_ppm, self.min_per_sec))
    }
}

/// Why [`configure`] refused a budget; its message says what to change.
///
/// ```
/// use resilience_runtime::retry::budget::{self, BudgetError, RetryBudgetConfig};
///
/// let error = budget::configure("error-docs", RetryBudgetConfig::new().ratio(f64::NAN)).unwrap_err();
/// assert!(matches!(error, BudgetError::Invalid { name: "error-docs", .. }));
/// assert!(error.to_string().contains("`ratio` must be from 0 to 1000"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BudgetError {
    /// The budget was used (or configured) before: its rule is fixed.
    /// Configure budgets at start-up, before the first decorated call.
    InUse {
        /// The budget's name.
        name: &'static str,
    },
    /// A value of the configuration is out of its range.
    Invalid {
        /// The budget's name.
        name: &'static str,
        /// What to change.
        reason: &'static str,
    },
}

impl std::fmt::Display for BudgetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InUse { name } => write!(
                f,
                "retry budget `{name}` is already in use: configure it before the first call that names it"
            ),
            Self::Invalid { name, reason } => write!(f, "retry budget `{name}`: {reason}"),
        }
    }
}

impl std::error::Error for BudgetError {}

/// A retry budget in use: what [`get`] returns, and what a function's
/// [`BudgetSlot`] holds. Calls and retries reach it through the retry loop
/// of a policy that names it; from outside, read its rule and what it
/// allows now.
///
/// ```
/// use resilience_runtime::retry::budget::{self, RetryBudgetConfig};
///
/// budget::configure("budget-docs", RetryBudgetConfig::new().min_per_sec(1)).unwrap();
/// let budget = budget::get("budget-docs");
/// assert_eq!(budget.config().min_per_sec_value(), 1);
/// assert_eq!(budget.remaining(), 10, "1 a second over 10 s, no calls yet");
/// ```
pub struct RetryBudget {
    name: &'static str,
    config: RetryBudgetConfig,
    /// Seconds of the window count from here.
    origin: Instant,
    ledger: Ledger,
    exhausted: Counter,
}

impl std::fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryBudget")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("remaining", &self.remaining())
            .finish()
    }
}

impl RetryBudget {
    fn new(name: &'static str, config: RetryBudgetConfig) -> Result<Self, BudgetError> {
        Ok(Self {
            name,
            config,
            origin: clock::now(),
            ledger: config.ledger(name)?,
            exhausted: RETRY_BUDGET_EXHAUSTED_TOTAL.register(&[("budget", name)]),
        })
    }

    /// Its name.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget;
    /// assert_eq!(budget::get("docs-name").name(), "docs-name");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its rule.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::{self, RetryBudgetConfig};
    /// assert_eq!(budget::get("docs-config").config(), RetryBudgetConfig::new());
    /// ```
    pub fn config(&self) -> RetryBudgetConfig {
        self.config
    }

    /// Retries it allows now.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget;
    /// // No calls yet: the floor alone, 10 a second over 10 s.
    /// assert_eq!(budget::get("docs-remaining").remaining(), 100);
    /// ```
    pub fn remaining(&self) -> u64 {
        self.ledger.remaining(self.second(clock::fresh()))
    }

    /// Counts a call made through the budget: once per decorated call,
    /// before its first attempt (the retry loop's `FirstAttempt`).
    #[inline]
    pub(crate) fn deposit(&self) {
        let nanos = clock::recent_since(self.origin).nanos;
        self.ledger.deposit(nanos / 1_000_000_000);
    }

    /// Takes one retry if the budget allows it; counts and reports a
    /// refusal. `function`: the decorated function asking, for the event.
    pub(crate) fn withdraw(&self, function: &'static str) -> bool {
        if self.ledger.withdraw(self.second(clock::fresh())) {
            return true;
        }
        self.exhausted.increment(1);
        crate::recovery::budget_refused();
        tracing::warn!(
            target: "resilience", function, budget = self.name,
            outcome = "retry_budget_exhausted",
            "not retrying: retry budget `{}` is empty", self.name
        );
        false
    }

    fn second(&self, at: Instant) -> u64 {
        clock::nanos_between(self.origin, at) / 1_000_000_000
    }
}

/// Every budget in use, by name.
fn budgets() -> &'static Mutex<HashMap<&'static str, &'static RetryBudget>> {
    static BUDGETS: OnceLock<Mutex<HashMap<&'static str, &'static RetryBudget>>> = OnceLock::new();
    BUDGETS.get_or_init(Default::default)
}

/// Gives the budget `name` its rule. Call it before the first decorated
/// call that names the budget: once used, a budget keeps its rule
/// ([`BudgetError::InUse`]).
///
/// ```
/// use resilience_runtime::retry::budget::{self, RetryBudgetConfig};
///
/// budget::configure("inventory", RetryBudgetConfig::new().ratio(0.5)).unwrap();
/// let wrong = budget::configure("ledger", RetryBudgetConfig::new().ratio(-1.0));
/// assert!(matches!(wrong, Err(budget::BudgetError::Invalid { .. })));
/// ```
pub fn configure(name: &'static str, config: RetryBudgetConfig) -> Result<(), BudgetError> {
    let mut budgets = budgets().lock();
    if budgets.contains_key(name) {
        return Err(BudgetError::InUse { name });
    }
    let budget = RetryBudget::new(name, config)?;
    // Budgets live as long as the process, as the functions naming them.
    budgets.insert(name, Box::leak(Box::new(budget)));
    Ok(())
}

/// The budget `name`, made with the default rule if it is not in use yet.
///
/// ```
/// use resilience_runtime::retry::budget;
///
/// let payments = budget::get("payments-docs");
/// assert!(std::ptr::eq(payments, budget::get("payments-docs")));
/// ```
pub fn get(name: &'static str) -> &'static RetryBudget {
    let mut budgets = budgets().lock();
    budgets.entry(name).or_insert_with(|| {
        let budget =
            RetryBudget::new(name, RetryBudgetConfig::new()).expect("the default rule is valid");
        Box::leak(Box::new(budget))
    })
}

/// Every budget in use (configured, or named by a call), by name.
///
/// ```
/// use resilience_runtime::retry::budget;
///
/// budget::get("listed-docs");
/// assert!(budget::all().iter().any(|budget| budget.name() == "listed-docs"));
/// ```
pub fn all() -> Vec<&'static RetryBudget> {
    let mut all: Vec<_> = budgets().lock().values().copied().collect();
    all.sort_by_key(|budget| budget.name());
    all
}

/// A function's handle on a named budget, looked up on its first call:
/// what `#[retry(budget = "...")]` declares, and what a hand-built
/// [`RetryPolicy`](crate::retry::RetryPolicy) takes.
///
/// ```
/// use resilience_runtime::retry::{RetryPolicy, budget::BudgetSlot};
///
/// static PAYMENTS: BudgetSlot = BudgetSlot::named("payments-slot-docs");
/// static POLICY: RetryPolicy = RetryPolicy::new().budget(&PAYMENTS);
///
/// assert_eq!(POLICY.budget_value().unwrap().get().name(), "payments-slot-docs");
/// ```
pub struct BudgetSlot {
    name: &'static str,
    budget: OnceLock<&'static RetryBudget>,
}

impl BudgetSlot {
    /// A handle on the budget `name`; `const`, so it can live in a
    /// `static`.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::BudgetSlot;
    /// static SLOT: BudgetSlot = BudgetSlot::named("orders");
    /// assert_eq!(SLOT.name(), "orders");
    /// ```
    pub const fn named(name: &'static str) -> Self {
        Self {
            name,
            budget: OnceLock::new(),
        }
    }

    /// The budget's name.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::BudgetSlot;
    /// assert_eq!(BudgetSlot::named("orders").name(), "orders");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The budget, looked up by name the first time.
    ///
    /// ```
    /// # use resilience_runtime::retry::budget::{self, BudgetSlot};
    /// static SLOT: BudgetSlot = BudgetSlot::named("slot-get-docs");
    /// assert!(std::ptr::eq(SLOT.get(), budget::get("slot-get-docs")));
    /// ```
    #[inline]
    pub fn get(&self) -> &'static RetryBudget {
        self.budget.get_or_init(|| get(self.name))
    }
}

impl std::fmt::Debug for BudgetSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BudgetSlot").field(&self.name).finish()
    }
}

/// Two slots are equal when they name one budget.
impl PartialEq for BudgetSlot {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
