//! The "return stale data on error" decorator (`@fallback_cache(maxage=...,
//! stale_tolerance=..., max_retries=...)`) → `#[stale_cache]`.

use super::values::Context;
use super::{Layer, bind, dynamic, get};
use crate::python::expr::Call;
use crate::python::module::{Def, Function};
use crate::rust::{self, Attribute, Kind};

/// The decorator's parameters, in order, with `#[stale_cache]`'s key for each.
const PARAMS: &[(&str, &str)] = &[
    ("maxage", "maxage"),
    ("stale_tolerance", "tolerance"),
    ("max_retries", "retries"),
];

/// Every name read.
pub(super) const HANDLED: &[&str] = &[
    "fallback_cache",
    "maxage",
    "stale_tolerance",
    "max_retries",
    "lru_cache",
];

/// The Python decorator's defaults, which are also `#[stale_cache]`'s.
const DEFAULTS: [f64; 3] = [5.0, 30.0, 2.0];

/// The most `retries` the macro takes.
const MAX_RETRIES: f64 = 16.0;

/// A function of the tree that is the stale-cache decorator under another
/// name: it takes `maxage` and `stale_tolerance`.
pub(super) fn is_definition(name: &str, def: &Def) -> bool {
    name == "fallback_cache"
        || (def.params.iter().any(|p| p == "maxage")
            && def.params.iter().any(|p| p == "stale_tolerance"))
}

/// The `#[stale_cache]` for the decorator called with `call`, whose own
/// definition (with its defaults) is `definition` when it is in the tree.
pub(super) fn layer(
    cx: Context<'_>,
    call: Option<&Call>,
    definition: Option<(Context<'_>, &Def)>,
    function: &Function,
) -> Layer {
    let mut layer = Layer::default();
    let mut cache = Attribute::new(Kind::StaleCache);
    let signature: Vec<&'static str> = PARAMS.iter().map(|(p, _)| *p).collect();
    let (bound, unknown) = call.map(|c| bind(c, &signature)).unwrap_or_default();
    if call.is_some_and(|c| c.splat) {
        layer.note("arguments passed as `*args`/`**kwargs` cannot be read");
    }
    for key in unknown {
        layer.note(format!(
            "`{key}=` is not a parameter of the stale-cache decorator"
        ));
    }
    let mut values = DEFAULTS;
    for (i, (param, key)) in PARAMS.iter().enumerate() {
        let written = get(&bound, param).map(|e| (cx, e));
        // Unwritten: the default of the decorator's own definition, which
        // may differ from the reference one.
        let default = definition.and_then(|(at, def)| def.defaults.get(*param).map(|e| (at, e)));
        let Some((at, expr)) = written.or(default) else {
            continue;
        };
        match at.number(expr) {
            Some(value) if value >= 0.0 => {
                values[i] = value;
                if written.is_some() || value != DEFAULTS[i] {
                    let text = if *key == "retries" {
                        rust::number(value.min(MAX_RETRIES).floor())
                    } else {
                        rust::seconds(value)
                    };
                    cache.set(key, text);
                }
            }
            _ => layer.note(dynamic(&expr.text, key)),
        }
    }
    let [maxage, tolerance, retries] = values;
    if tolerance < maxage {
        cache.set("tolerance", rust::seconds(maxage));
        layer.note(format!(
            "`stale_tolerance` ({}) is below `maxage` ({}): stale data was never served; `tolerance` is raised to `maxage`, which keeps that",
            rust::seconds(tolerance),
            rust::seconds(maxage)
        ));
    }
    if retries > MAX_RETRIES || retries.fract() != 0.0 {
        layer.note(format!(
            "`max_retries={}`: `retries` takes a whole number up to 16",
            rust::number(retries)
        ));
    }
    if function.is_method {
        if function.params.iter().any(|p| p.starts_with('*')) {
            layer.note(
                "a method needs `key = ...`, and `*args`/`**kwargs` cannot be turned into one: write the attribute by hand",
            );
            return layer;
        }
        let key = match function.params.as_slice() {
            [] => "()".to_owned(),
            [one] => format!("{}.clone()", plain(one)),
            many => format!(
                "({})",
                many.iter()
                    .map(|p| format!("{}.clone()", plain(p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        cache.set("key", key);
        layer.note(
            "a method needs `key = ...`: the printed key is its arguments, as in Python; add a field of `self` if the result depends on it",
        );
    }
    if function.params.iter().any(|p| p.starts_with("**")) {
        layer.note(
            "keyword arguments were not part of the Python cache key; in Rust every argument is, unless `key = ...` says otherwise",
        );
    }
    layer.attributes.push(cache);
    layer
}

/// A parameter's name without a type annotation or default.
fn plain(param: &str) -> &str {
    param.split([':', '=']).next().unwrap_or(param).trim()
}
