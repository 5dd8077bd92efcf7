//! stamina's `@stamina.retry(on=..., attempts=..., ...)` → `#[retry]`.
//!
//! stamina's defaults differ from `#[retry]`'s (10 attempts, waits from
//! 0.1 s up to 5 s), so they are always written out.

use super::values::{Context, Selector, listed, predicate_name};
use super::{Layer, bind, dynamic, get};
use crate::python::expr::{Call, Kind as ExprKind};
use crate::rust::{self, Attribute, Kind};

/// `stamina.retry`'s parameters (all keyword-only).
const PARAMS: &[&str] = &[
    "on",
    "attempts",
    "timeout",
    "wait_initial",
    "wait_max",
    "wait_jitter",
    "wait_exp_base",
];

/// Every name read.
pub(super) const HANDLED: &[&str] = PARAMS;

/// The `#[retry]` for `@stamina.retry(...)`.
pub(super) fn layer(cx: Context<'_>, call: Option<&Call>) -> Layer {
    let mut layer = Layer::default();
    let Some(call) = call.filter(|c| !c.splat) else {
        layer.note(
            "the arguments of `stamina.retry` cannot be read: write the `#[retry]` keys by hand",
        );
        return layer;
    };
    if !call.args.is_empty() {
        layer.note("positional arguments to `stamina.retry` are not read (it takes keywords only)");
    }
    let keywords = Call {
        args: Vec::new(),
        ..call.clone()
    };
    let (bound, unknown) = bind(&keywords, PARAMS);
    for key in unknown {
        layer.note(format!(
            "`{key}=` is not a stamina parameter this tool knows"
        ));
    }
    let mut retry = Attribute::new(Kind::Retry);
    let number = |layer: &mut Layer, key: &str, rust_key: &str, default: f64| match get(&bound, key)
    {
        None => Some(default),
        Some(expr) if matches!(expr.kind, ExprKind::None) => None,
        Some(expr) => {
            let value = cx.number(expr);
            if value.is_none() {
                layer.note(dynamic(&expr.text, rust_key));
            }
            value
        }
    };

    match get(&bound, "attempts") {
        Some(expr) if matches!(expr.kind, ExprKind::None) => layer.note(
            "`attempts=None` retries without a bound, which has no equivalent: `#[retry]` stops after `max` attempts",
        ),
        _ => {
            if let Some(n) = number(&mut layer, "attempts", "max", 10.0) {
                if n >= 1.0 && n.fract() == 0.0 {
                    retry.set("max", rust::number(n));
                } else {
                    layer.note("`attempts` must be a whole number from 1 for `max`");
                }
            }
        }
    }
    retry.set("backoff", rust::string("exp"));
    let initial = number(&mut layer, "wait_initial", "delay", 0.1);
    let cap = number(&mut layer, "wait_max", "max_delay", 5.0);
    if let Some(initial) = initial {
        retry.set("delay", rust::seconds(initial));
    }
    if let Some(base) = number(&mut layer, "wait_exp_base", "factor", 2.0) {
        if base >= 1.0 {
            if get(&bound, "wait_exp_base").is_some() {
                retry.set("factor", rust::number(base));
            }
        } else {
            layer.note("`wait_exp_base` below 1 cannot be written: `factor` is at least 1");
        }
    }
    if let Some(cap) = cap {
        retry.set("max_delay", rust::seconds(cap.max(initial.unwrap_or(0.0))));
    }
    let spread = number(&mut layer, "wait_jitter", "jitter", 1.0);
    let jitter = match spread {
        Some(0.0) => "none",
        Some(s) => {
            layer.note(format!(
                "`wait_jitter={}` adds a random 0–{} s to each wait; `jitter = \"equal\"` waits between half and all of each wait instead",
                rust::seconds(s),
                rust::seconds(s)
            ));
            "equal"
        }
        None => "equal",
    };
    retry.set("jitter", rust::string(jitter));

    match get(&bound, "timeout") {
        Some(expr) if matches!(expr.kind, ExprKind::None) => {}
        None => {
            layer.note("stamina's default `timeout` of 45 s is written out as `max_elapsed`");
            retry.set("max_elapsed", rust::seconds(45.0));
        }
        Some(expr) => match cx.number(expr) {
            Some(limit) if limit > 0.0 => retry.set("max_elapsed", rust::seconds(limit)),
            Some(_) => layer.note("`timeout` of zero allows no attempt: drop it"),
            None => layer.note(dynamic(&expr.text, "max_elapsed")),
        },
    }

    match get(&bound, "on").map(|on| (on, cx.selector(on))) {
        None => layer.note("no `on=`: stamina requires it; `#[retry]` retries every error"),
        Some((on, _)) if cx.is(on, "builtins", "Exception") || on.text == "Exception" => {}
        Some((_, Some(Selector::Classes(classes)))) => {
            let name = predicate_name("is_", &classes);
            layer.note(format!(
                "write `fn {name}(e: &E) -> bool`, true for the variants of your error type that stand for {} (stamina retried only these exception types)",
                listed(&classes)
            ));
            retry.set("when", name);
        }
        Some((on, Some(Selector::Predicate(path)))) => {
            layer.note(format!(
                "`on={}`: `{path}` takes `&E` where stamina passed the exception; a predicate that returns a wait (a `float` or `timedelta`) becomes `delay_from = ...`, a `fn(&E) -> Option<Duration>`",
                on.text
            ));
            retry.set("when", path);
        }
        Some((on, None)) => layer.note(dynamic(&on.text, "when")),
    }
    layer.attributes.push(retry);
    layer
}
