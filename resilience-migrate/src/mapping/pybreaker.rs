//! A `pybreaker.CircuitBreaker(...)` object used as `@breaker` → `#[breaker]`,
//! and one of `aiobreaker`, pybreaker's asyncio fork: the same parameters,
//! with `timeout_duration` (a `timedelta`) for `reset_timeout`.

use super::values::{Context, Selector, listed};
use super::{Layer, bind, dynamic, get};
use crate::python::expr::{Call, Kind as ExprKind};
use crate::rust::{self, Attribute, Kind};

/// pybreaker's `CircuitBreaker` parameters, in order.
const PARAMS: &[&str] = &[
    "fail_max",
    "reset_timeout",
    "success_threshold",
    "exclude",
    "listeners",
    "state_storage",
    "namespace",
    "name",
    "throw_new_error_on_trip",
];

/// aiobreaker's `CircuitBreaker` parameters, in order.
const AIO_PARAMS: &[&str] = &[
    "fail_max",
    "timeout_duration",
    "exclude",
    "listeners",
    "state_storage",
    "name",
];

/// Which of the two libraries made the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavour {
    Pybreaker,
    Aiobreaker,
}

impl Flavour {
    /// The flavour of the package `package`, if it is one of the two.
    pub(super) fn of(package: &str) -> Option<Self> {
        match package {
            "pybreaker" => Some(Self::Pybreaker),
            "aiobreaker" => Some(Self::Aiobreaker),
            _ => None,
        }
    }

    fn params(self) -> &'static [&'static str] {
        match self {
            Self::Pybreaker => PARAMS,
            Self::Aiobreaker => AIO_PARAMS,
        }
    }

    /// The parameter `open_for` comes from.
    fn reset_key(self) -> &'static str {
        match self {
            Self::Pybreaker => "reset_timeout",
            Self::Aiobreaker => "timeout_duration",
        }
    }
}

/// Every name read, of both libraries: the parameters, and the class and
/// storage named in the guide.
pub(super) fn handled() -> Vec<&'static str> {
    let mut names: Vec<_> = ["CircuitBreaker", "CircuitRedisStorage"]
        .into_iter()
        .chain(PARAMS.iter().copied())
        .chain(AIO_PARAMS.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// pybreaker's `fail_max` default: five failures in a row.
const FAIL_MAX: f64 = 5.0;

/// The `#[breaker]` for a breaker object named `variable` (empty when it is
/// made in the decorator itself), built by `call`.
pub(super) fn layer(
    cx: Context<'_>,
    variable: &str,
    call: Option<&Call>,
    flavour: Flavour,
) -> Layer {
    let mut layer = Layer::default();
    let mut breaker = Attribute::new(Kind::Breaker);
    let empty = Call {
        function: Box::new(crate::python::expr::Expr {
            kind: ExprKind::Other,
            text: String::new(),
        }),
        args: Vec::new(),
        kwargs: Vec::new(),
        splat: false,
    };
    let call = call.unwrap_or(&empty);
    if call.splat {
        layer.note("the breaker's arguments passed as `*args`/`**kwargs` cannot be read");
    }
    let (bound, unknown) = bind(call, flavour.params());
    for key in unknown {
        layer.note(format!(
            "`{key}=` is not a {} parameter this tool knows",
            match flavour {
                Flavour::Pybreaker => "pybreaker",
                Flavour::Aiobreaker => "aiobreaker",
            }
        ));
    }
    let number = |layer: &mut Layer, key: &str, rust_key: &str| {
        get(&bound, key).and_then(|expr| {
            let value = cx.number(expr);
            if value.is_none() {
                layer.note(dynamic(&expr.text, rust_key));
            }
            value
        })
    };

    let name = match get(&bound, "name").map(|e| &e.kind) {
        Some(ExprKind::Str(name)) if !name.trim().is_empty() => name.clone(),
        _ if !variable.is_empty() => variable.to_owned(),
        _ => "breaker".to_owned(),
    };
    if variable.is_empty() {
        layer.note(format!(
            "a breaker made in the decorator guards this function alone: give each such function its own `name` (\"{name}\" here)"
        ));
    }
    breaker.set("name", rust::string(&name));

    // Failures in a row, as pybreaker counts them: the default too.
    let fail_max = if get(&bound, "fail_max").is_some() {
        number(&mut layer, "fail_max", "consecutive")
    } else {
        Some(FAIL_MAX)
    };
    if let Some(n) = fail_max.filter(|n| *n >= 1.0 && n.fract() == 0.0) {
        breaker.set("consecutive", rust::number(n));
    }
    if let Some(seconds) = number(&mut layer, flavour.reset_key(), "open_for")
        && seconds >= 0.0
    {
        breaker.set("open_for", rust::seconds(seconds));
    }
    if let Some(n) = number(&mut layer, "success_threshold", "half_open_calls")
        && n >= 1.0
        && n.fract() == 0.0
    {
        breaker.set("half_open_calls", rust::number(n));
        if n > 1.0 {
            layer.note(format!(
                    "`success_threshold={}`: the {} probes are let through at once and must all succeed, where pybreaker tried them one after another",
                    rust::number(n),
                    rust::number(n)
                ));
        }
    }
    if let Some(exclude) = get(&bound, "exclude") {
        match cx.selector(exclude) {
            Some(Selector::Classes(classes)) if !classes.is_empty() => {
                let predicate = format!("{}_counts_as_failure", rust::snake_case(&name));
                layer.note(format!(
                    "write `fn {predicate}(e: &E) -> bool`, false for the variants of your error type that stand for {} (pybreaker's `exclude`: they count as successes)",
                    listed(&classes)
                ));
                breaker.set("when", predicate);
            }
            Some(Selector::Classes(_)) => {}
            _ => layer.note(format!(
                "`exclude={}` cannot be read: write a `fn(&E) -> bool` that is false for the excluded errors and add `when = ...`",
                exclude.text
            )),
        }
    }
    if get(&bound, "listeners").is_some() {
        layer.note(
            "`listeners=`: add state-change listeners to the breaker registry, or subscribe to the `resilience` tracing events",
        );
    }
    if let Some(storage) = get(&bound, "state_storage") {
        if storage.text.contains("CircuitRedisStorage") {
            layer.note(
                "`state_storage=CircuitRedisStorage(..)`: add `shared = true` (feature `redis`) and call `resilience_runtime::fleet::connect(url, namespace)` once at start-up; only the open and half-open state is shared, each process keeps its own failure window, and the others open once `quorum` processes (2 by default) opened it; `quorum = 1` opens all on one process's failures, as pybreaker does",
            );
        } else {
            layer.note(
                "`state_storage=`: breaker state is per process (`shared = true`, feature `redis`, shares it over Redis)",
            );
        }
    }
    if let Some(trip) = get(&bound, "throw_new_error_on_trip")
        && cx.boolean(trip) != Some(false)
    {
        layer.note(
                "`throw_new_error_on_trip=True`: the call that trips the breaker returns its own error; later calls get `E::from(CircuitOpen)`",
            );
    }
    layer.attributes.push(breaker);
    layer
}
