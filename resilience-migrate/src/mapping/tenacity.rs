//! tenacity's `@retry(stop=..., wait=..., retry=...)` → `#[retry]` (and
//! `#[fallback]` for `retry_error_callback`), as `MIGRATING.md` maps it.

use super::values::{Context, Selector, listed, predicate_name};
use super::{Layer, bind, dynamic, get};
use crate::python::expr::{Call, Expr, Kind as ExprKind};
use crate::rust::{self, Attribute, Kind};

/// Keyword arguments of `retry(...)`.
const KEYWORDS: &[&str] = &[
    "stop",
    "wait",
    "retry",
    "reraise",
    "before",
    "after",
    "before_sleep",
    "retry_error_callback",
    "sleep",
];

/// The strategies read, and their parameters (beside `KEYWORDS`).
const STRATEGIES: &[&str] = &[
    "stop_after_attempt",
    "stop_after_delay",
    "stop_before_delay",
    "stop_never",
    "stop_any",
    "stop_all",
    "stop_when_event_set",
    "wait_fixed",
    "wait_none",
    "wait_random",
    "wait_exponential",
    "wait_random_exponential",
    "wait_full_jitter",
    "wait_exponential_jitter",
    "wait_incrementing",
    "wait_chain",
    "wait_combine",
    "wait_exception",
    "multiplier",
    "min",
    "max",
    "exp_base",
    "initial",
    "jitter",
    "retry_if_exception_type",
    "retry_if_not_exception_type",
    "retry_unless_exception_type",
    "retry_if_exception_cause_type",
    "retry_if_exception",
    "retry_if_result",
    "retry_if_not_result",
    "retry_if_exception_message",
    "retry_if_not_exception_message",
    "retry_any",
    "retry_all",
    "retry_always",
    "retry_never",
    "before_sleep_log",
    "before_log",
    "after_log",
];

/// Every name read: keywords, strategies and their parameters.
pub(super) fn handled() -> Vec<&'static str> {
    KEYWORDS.iter().chain(STRATEGIES).copied().collect()
}

/// The `#[retry]` (and `#[fallback]`) for `@retry` / `@retry(...)`.
pub(super) fn layer<'t>(cx: Context<'t>, call: Option<&'t Call>, is_method: bool) -> Layer {
    let mut out = Out {
        cx,
        is_method,
        retry: Attribute::new(Kind::Retry),
        fallback: None,
        layer: Layer::default(),
    };
    let Some(call) = call else {
        out.defaults(None, None);
        return out.finish();
    };
    if call.splat {
        out.layer.note(
            "arguments passed as `*args`/`**kwargs` cannot be read: write the `#[retry]` keys by hand",
        );
        return out.layer;
    }
    if !call.args.is_empty() {
        out.layer
            .note("positional arguments to `retry(...)` are not read");
    }
    let (bound, unknown) = bind(call, KEYWORDS);
    for key in unknown {
        out.layer.note(format!(
            "`{key}=` is not a tenacity parameter this tool knows"
        ));
    }
    out.defaults(get(&bound, "stop"), get(&bound, "wait"));
    for (key, value) in bound {
        match key {
            "stop" => out.stop(value),
            "wait" => out.wait(value),
            "retry" => out.condition(value),
            "reraise" => out.reraise(value),
            "before_sleep" | "before" | "after" => out.layer.note(format!(
                "`{key}=`: subscribe a `tracing` layer instead; every retry emits a WARN event (target `resilience`, fields `function`, `attempt`, `max_attempts`, `error`, `delay_ms`, `elapsed_ms`)"
            )),
            "retry_error_callback" => out.error_callback(value),
            "sleep" => out.layer.note(
                "`sleep=`: waits use `tokio::time` (async) or `std::thread::sleep` (sync); a paused tokio clock replaces a fake sleep in tests",
            ),
            _ => {}
        }
    }
    out.finish()
}

struct Out<'t> {
    cx: Context<'t>,
    /// The decorated function is a method: its fallback is one too.
    is_method: bool,
    retry: Attribute,
    fallback: Option<Attribute>,
    layer: Layer,
}

impl<'t> Out<'t> {
    /// tenacity's defaults where the decorator does not say: no stop
    /// (retry forever) and no wait.
    fn defaults(&mut self, stop: Option<&'t Expr>, wait: Option<&'t Expr>) {
        if stop.is_none() {
            self.layer.note(
                "no `stop=`: tenacity retries forever (`stop_never`), which has no bounded equivalent; `#[retry]` stops after `max` attempts (3 unless you set it)",
            );
        }
        if wait.is_none() {
            self.retry.set("backoff", rust::string("none"));
        }
    }

    fn finish(mut self) -> Layer {
        self.check();
        if let Some(fallback) = self.fallback {
            self.layer.attributes.push(fallback);
        }
        self.layer.attributes.push(self.retry);
        self.layer
    }

    /// Keeps only what `#[retry]` accepts (the macro's own checks).
    fn check(&mut self) {
        let backoff = self.retry.get("backoff").unwrap_or("\"exp\"").to_owned();
        if backoff != "\"exp\"" {
            self.retry.remove("factor");
        }
        if backoff == "\"none\"" {
            self.retry.remove("delay");
            self.retry.remove("max_delay");
            self.retry.remove("jitter");
        }
        let number = |key| self.retry.get(key).and_then(|v| v.parse::<f64>().ok());
        if let (Some(delay), Some(max_delay)) = (number("delay"), number("max_delay"))
            && delay > max_delay
        {
            self.retry.set("max_delay", rust::seconds(delay));
            self.layer.note(format!(
                "the first wait ({}) is above the cap ({}): tenacity waits the cap every time; `max_delay` is raised to `delay`, lower both to taste",
                rust::seconds(delay),
                rust::seconds(max_delay)
            ));
        }
    }

    fn number(&mut self, expr: &Expr, key: &str) -> Option<f64> {
        let value = self.cx.number(expr);
        if value.is_none() {
            self.layer.note(dynamic(&expr.text, key));
        }
        value
    }

    fn stop(&mut self, expr: &'t Expr) {
        let expr = self.cx.deref(expr);
        let mut attempts: Option<f64> = None;
        let mut budget: Option<f64> = None;
        for part in flatten(self.cx, expr, "|", "stop_any") {
            let name = self.cx.tenacity(part);
            let call = part.as_call();
            match (name.as_deref(), call) {
                (Some("stop_after_attempt"), Some(call)) => {
                    if let Some(n) = call
                        .arg("max_attempt_number", Some(0))
                        .and_then(|arg| self.number(arg, "max"))
                    {
                        attempts = Some(attempts.map_or(n, |a: f64| a.min(n)));
                    }
                }
                (Some(kind @ ("stop_after_delay" | "stop_before_delay")), Some(call)) => {
                    match call
                        .arg("max_delay", Some(0))
                        .and_then(|arg| self.number(arg, "max_elapsed"))
                    {
                        Some(limit) if limit > 0.0 => {
                            budget = Some(budget.map_or(limit, |b: f64| b.min(limit)));
                            if kind == "stop_after_delay" {
                                self.layer.note(format!(
                                    "`{}`: `max_elapsed` also stops before a wait that would end past it, where tenacity makes one more attempt after it",
                                    part.text
                                ));
                            }
                        }
                        Some(_) => self.layer.note(format!(
                            "`{}`: a budget of zero allows no attempt; drop it",
                            part.text
                        )),
                        None => {}
                    }
                }
                (Some("stop_never"), _) => self.layer.note(
                    "`stop_never` has no bounded equivalent: `#[retry]` stops after `max` attempts (3 unless you set it)",
                ),
                _ if name.as_deref() == Some("stop_all") || all_of(part) => self.layer.note(format!(
                    "`{}`: stopping only when every condition holds has no equivalent; choose `max`",
                    part.text
                )),
                _ => self.layer.note(format!(
                    "`stop={}` is not a stop condition this tool can read: choose `max`",
                    part.text
                )),
            }
        }
        if let Some(limit) = budget {
            self.retry.set("max_elapsed", rust::seconds(limit));
        }
        match attempts {
            Some(n) if n >= 1.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) => {
                self.retry.set("max", rust::number(n))
            }
            Some(n) => self.layer.note(format!(
                "{} attempts cannot be written: `max` takes a whole number from 1",
                rust::number(n)
            )),
            None => {}
        }
    }

    fn wait(&mut self, expr: &'t Expr) {
        let expr = self.cx.deref(expr);
        let parts = flatten(self.cx, expr, "+", "wait_combine");
        // The random part of `wait_fixed(a) + wait_random(lo, hi)`.
        let mut extra: Option<(f64, f64)> = None;
        let mut base: Option<&Expr> = None;
        for part in &parts {
            match self.cx.tenacity(part).as_deref() {
                Some("wait_random") if parts.len() > 1 => {
                    let (lo, hi) = self.random_range(part);
                    extra = Some(extra.map_or((lo, hi), |(a, b)| (a + lo, b + hi)));
                }
                _ if base.is_some() => {
                    self.layer.note(format!(
                        "`{}`: only one wait strategy is mapped; add the others' waits to `delay` by hand",
                        part.text
                    ));
                }
                _ => base = Some(part),
            }
        }
        let Some(base) = base else {
            // Only random parts: a uniform wait.
            let (lo, hi) = extra.unwrap_or((0.0, 0.0));
            self.uniform(0.0, lo, hi, &expr.text);
            return;
        };
        let name = self.cx.tenacity(base);
        let call = base.as_call();
        match (name.as_deref(), call) {
            (Some("wait_fixed"), Some(call)) => {
                let Some(wait) = call
                    .arg("wait", Some(0))
                    .and_then(|arg| self.number(arg, "delay"))
                else {
                    self.retry.set("backoff", rust::string("fixed"));
                    return;
                };
                match extra {
                    Some((lo, hi)) => self.uniform(wait, lo, hi, &expr.text),
                    None => {
                        self.retry.set("backoff", rust::string("fixed"));
                        self.retry.set("delay", rust::seconds(wait));
                        self.retry.set("jitter", rust::string("none"));
                    }
                }
            }
            (Some("wait_none"), _) => {
                self.retry.set("backoff", rust::string("none"));
                if let Some((lo, hi)) = extra {
                    self.uniform(0.0, lo, hi, &expr.text);
                }
            }
            (Some("wait_random"), Some(_)) => {
                let (lo, hi) = self.random_range(base);
                self.uniform(0.0, lo, hi, &base.text);
            }
            (
                Some(
                    strategy @ ("wait_exponential"
                    | "wait_random_exponential"
                    | "wait_full_jitter"
                    | "wait_exponential_jitter"),
                ),
                call,
            ) => {
                self.exponential(strategy, call, &base.text);
                if let Some((lo, hi)) = extra {
                    self.layer.note(format!(
                        "the added random wait of {}–{} s has no equivalent; `jitter` randomises within each wait instead",
                        rust::seconds(lo),
                        rust::seconds(hi)
                    ));
                }
            }
            (Some("wait_exception"), Some(call)) => {
                match call.args.first().and_then(|arg| self.cx.selector(arg)) {
                    Some(Selector::Predicate(path)) => {
                        self.retry.set("delay_from", path.clone());
                        self.layer.note(format!(
                            "`{}`: `{path}` becomes a `fn(&E) -> Option<Duration>`: `None` keeps the policy's wait",
                            base.text
                        ));
                    }
                    _ => self.layer.note(format!(
                        "`{}` cannot be read: write a `fn(&E) -> Option<Duration>` for it and add `delay_from = ...`",
                        base.text
                    )),
                }
            }
            (Some("wait_incrementing" | "wait_chain"), _) => self.layer.note(format!(
                "`{}`: waits that grow by a step or follow a list have no equivalent; `backoff = \"exp\"` or `\"fixed\"` is the closest",
                base.text
            )),
            _ => self.layer.note(format!(
                "`wait={}` is not a wait strategy this tool can read: set `backoff` and `delay` by hand",
                base.text
            )),
        }
    }

    /// `wait_random(min, max)`: its bounds (defaults 0 and 1).
    fn random_range(&mut self, expr: &Expr) -> (f64, f64) {
        let Some(call) = expr.as_call() else {
            return (0.0, 1.0);
        };
        let (bound, _) = bind(call, &["min", "max"]);
        let lo = get(&bound, "min")
            .and_then(|e| self.number(e, "delay"))
            .unwrap_or(0.0);
        let hi = get(&bound, "max")
            .and_then(|e| self.number(e, "delay"))
            .unwrap_or(1.0);
        (lo, hi)
    }

    /// A fixed wait of `fixed + uniform(lo, hi)` seconds, as the closest
    /// fixed backoff: `jitter = "none"` is exact for no spread, `"full"` for
    /// `[0, d]` and `"equal"` for `[d/2, d]`.
    fn uniform(&mut self, fixed: f64, lo: f64, hi: f64, written: &str) {
        let (low, high) = (fixed + lo, fixed + hi);
        self.retry.set("backoff", rust::string("fixed"));
        self.retry.set("delay", rust::seconds(high));
        let jitter = if low == high {
            "none"
        } else if low == 0.0 {
            "full"
        } else {
            "equal"
        };
        self.retry.set("jitter", rust::string(jitter));
        if jitter == "equal" && (low - high / 2.0).abs() > 1e-9 {
            self.layer.note(format!(
                "`{written}` waits between {} and {} s; `jitter = \"equal\"` waits between {} and {} s",
                rust::seconds(low),
                rust::seconds(high),
                rust::seconds(high / 2.0),
                rust::seconds(high)
            ));
        }
    }

    fn exponential(&mut self, strategy: &str, call: Option<&Call>, written: &str) {
        let first = if strategy == "wait_exponential_jitter" {
            "initial"
        } else {
            "multiplier"
        };
        let signature: &[&'static str] = if strategy == "wait_exponential_jitter" {
            &["initial", "max", "exp_base", "jitter"]
        } else {
            &["multiplier", "max", "exp_base", "min"]
        };
        let (bound, unknown) = call.map(|c| bind(c, signature)).unwrap_or_default();
        for key in unknown {
            self.layer
                .note(format!("`{key}=` of `{strategy}` is not read"));
        }
        let value = |this: &mut Self, key: &str, rust_key: &str| {
            get(&bound, key).and_then(|e| this.number(e, rust_key))
        };
        self.retry.set("backoff", rust::string("exp"));
        let mut delay = value(self, first, "delay").unwrap_or(1.0);
        if let Some(min) = value(self, "min", "delay")
            && min > delay
        {
            self.layer.note(format!(
                "`min={}`: `#[retry]` has no `min`; `delay` starts at {} s and grows from there (tenacity stays at {} s until `{first} × exp_baseⁿ` passes it)",
                rust::seconds(min),
                rust::seconds(min),
                rust::seconds(min),
            ));
            delay = min;
        }
        self.retry.set("delay", rust::seconds(delay));
        if let Some(base) = value(self, "exp_base", "factor") {
            if base >= 1.0 {
                self.retry.set("factor", rust::number(base));
            } else {
                self.layer.note(format!(
                    "`exp_base={}`: waits that shrink cannot be written; `factor` is at least 1",
                    rust::number(base)
                ));
            }
        }
        match value(self, "max", "max_delay") {
            Some(max) => self.retry.set("max_delay", rust::seconds(max)),
            None if get(&bound, "max").is_none() => self.layer.note(format!(
                "`{written}` has no `max`: tenacity's waits grow without bound; `max_delay` defaults to 30 s"
            )),
            None => {}
        }
        let jitter = match strategy {
            "wait_exponential" => "none",
            "wait_exponential_jitter" => {
                let spread = value(self, "jitter", "jitter").unwrap_or(1.0);
                if spread == 0.0 {
                    "none"
                } else {
                    self.layer.note(format!(
                        "`{written}` adds a random 0–{} s to each wait; `jitter = \"equal\"` waits between half and all of each wait instead",
                        rust::seconds(spread)
                    ));
                    "equal"
                }
            }
            _ => "full",
        };
        self.retry.set("jitter", rust::string(jitter));
    }

    /// `retry=`: which errors are retried.
    fn condition(&mut self, expr: &'t Expr) {
        let expr = self.cx.deref(expr);
        let mut classes: Vec<String> = Vec::new();
        let mut predicates: Vec<String> = Vec::new();
        let mut negated: Vec<String> = Vec::new();
        let mut results = 0;
        let parts = flatten(self.cx, expr, "|", "retry_any");
        let count = parts.len();
        for part in parts {
            let name = self.cx.tenacity(part);
            let call = part.as_call();
            let argument = call.and_then(|c| c.args.first().or(c.kwargs.first().map(|(_, v)| v)));
            match (name.as_deref(), argument) {
                (Some("retry_if_exception_type"), None) => return,
                (Some("retry_if_exception_type"), Some(types)) => {
                    match self.cx.selector(types) {
                        Some(Selector::Classes(found)) => classes.extend(found),
                        _ => self.layer.note(dynamic(&types.text, "when")),
                    }
                }
                (Some("retry_if_not_exception_type"), Some(types)) => {
                    match self.cx.selector(types) {
                        Some(Selector::Classes(found)) => negated.extend(found),
                        _ => self.layer.note(dynamic(&types.text, "when")),
                    }
                }
                (Some("retry_if_exception"), Some(predicate)) => {
                    match self.cx.selector(predicate) {
                        Some(Selector::Predicate(path)) => predicates.push(path),
                        Some(Selector::Classes(found)) => classes.extend(found),
                        None => self.layer.note(format!(
                            "`{}` cannot be read: write a `fn(&E) -> bool` for it and add `when = ...`",
                            predicate.text
                        )),
                    }
                }
                (Some(kind @ ("retry_if_result" | "retry_if_not_result")), _) => {
                    match argument.and_then(|a| self.cx.selector(a)) {
                        Some(Selector::Predicate(path)) if kind == "retry_if_result" => {
                            self.retry.set("when_ok", path.clone());
                            self.layer.note(format!(
                                "`{}`: `{path}` takes `&T`, the returned value",
                                part.text
                            ));
                        }
                        Some(Selector::Predicate(path)) => self.layer.note(format!(
                            "`{}`: write a `fn(&T) -> bool` that negates `{path}` and add `when_ok = ...`",
                            part.text
                        )),
                        _ => self.layer.note(format!(
                            "`{}` cannot be read: write a `fn(&T) -> bool` for it and add `when_ok = ...`",
                            part.text
                        )),
                    }
                    results += 1;
                }
                (Some("retry_always"), _) => return,
                (Some("retry_never"), _) => {
                    self.layer
                        .note("`retry_never`: write `max = 1`, or drop the attribute");
                }
                _ => self.layer.note(format!(
                    "`retry={}` is not a condition this tool can read: write a `fn(&E) -> bool` for it and add `when = ...`",
                    part.text
                )),
            }
        }
        if results == count {
            self.layer.note(
                "tenacity retried no exception here, only returned values; `#[retry]` retries every `Err` unless `when` says otherwise",
            );
        }
        let when = match (
            classes.is_empty(),
            negated.is_empty(),
            predicates.as_slice(),
        ) {
            (true, true, []) => return,
            (true, true, [one]) => one.clone(),
            (false, true, []) => {
                let name = predicate_name("is_", &classes);
                self.layer.note(format!(
                    "write `fn {name}(e: &E) -> bool`, true for the variants of your error type that stand for {} (tenacity retried only these exception types)",
                    listed(&classes)
                ));
                name
            }
            (true, false, []) => {
                let name = predicate_name("is_not_", &negated);
                self.layer.note(format!(
                    "write `fn {name}(e: &E) -> bool`, false for the variants of your error type that stand for {} (tenacity retried every other exception)",
                    listed(&negated)
                ));
                name
            }
            _ => {
                let mut parts = classes.clone();
                parts.extend(predicates.iter().cloned());
                self.layer.note(format!(
                    "the conditions are combined: write `fn is_retryable(e: &E) -> bool` covering {}",
                    listed(&parts)
                ));
                "is_retryable".to_owned()
            }
        };
        self.retry.set("when", when);
    }

    fn reraise(&mut self, expr: &Expr) {
        if self.cx.boolean(expr) != Some(true) {
            self.layer.note(
                "`reraise=False`: there is no `RetryError`; callers get the last error itself, unchanged",
            );
        }
    }

    fn error_callback(&mut self, expr: &Expr) {
        match self.cx.selector(expr) {
            Some(Selector::Predicate(path)) => {
                let mut fallback = Attribute::new(Kind::Fallback);
                let (path, takes) = if self.is_method {
                    (
                        format!("Self::{}", path.rsplit("::").next().unwrap_or(&path)),
                        "the receiver and the method's arguments, followed by the last error,",
                    )
                } else {
                    (path, "the function's arguments followed by the last error,")
                };
                fallback.set("fn", path.clone());
                self.fallback = Some(fallback);
                self.layer.note(format!(
                    "`retry_error_callback={}`: `{path}` takes {takes} and returns the same `Result` (tenacity passed it the retry state)",
                    expr.text
                ));
            }
            _ => self.layer.note(format!(
                "`retry_error_callback={}` cannot be read: write a function taking the arguments and the error, and add `#[fallback(fn = ...)]`",
                expr.text
            )),
        }
    }
}

/// `a & b`: a condition that holds only when both do.
fn all_of(expr: &Expr) -> bool {
    matches!(&expr.kind, ExprKind::Binary(_, op, _) if op == "&")
}

/// The parts of `a | b | c` (or `any_fn(a, b, c)`), nested ones included.
fn flatten<'e>(cx: Context<'_>, expr: &'e Expr, op: &str, any_fn: &str) -> Vec<&'e Expr> {
    match &expr.kind {
        ExprKind::Binary(left, o, right) if o == op => {
            let mut parts = flatten(cx, left, op, any_fn);
            parts.extend(flatten(cx, right, op, any_fn));
            parts
        }
        ExprKind::Call(call) if cx.tenacity(expr).as_deref() == Some(any_fn) => call
            .args
            .iter()
            .flat_map(|arg| flatten(cx, arg, op, any_fn))
            .collect(),
        _ => vec![expr],
    }
}
