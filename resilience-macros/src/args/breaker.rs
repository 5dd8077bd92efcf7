//! `#[breaker(name = "payments", failure_rate = 0.5, window = 10, min_calls = 20,
//! open_for = 60, half_open_calls = 1, probe_timeout = 60, when = counts_as_failure,
//! shared = true, quorum = 2, key = host, max_keys = 4096)]`, or `consecutive = 5`
//! or `throttle = 2` in place of `failure_rate` and `min_calls`

use std::time::Duration;

use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Lit, LitStr, Path};

use super::{
    Errors, Keys, Spanned, boolean, duration, error, float_at_least, name, path, positive_u32,
};

const NAME_HELP: &str = "name the dependency the breaker guards: `name = \"payments\"`";

#[derive(Default)]
pub(crate) struct BreakerArgs {
    /// Required; `None` only while parsing.
    pub(crate) name: Option<LitStr>,
    pub(crate) failure_rate: Option<Spanned<f64>>,
    pub(crate) window: Option<Spanned<Duration>>,
    pub(crate) min_calls: Option<Spanned<u32>>,
    pub(crate) open_for: Option<Spanned<Duration>>,
    pub(crate) half_open_calls: Option<Spanned<u32>>,
    pub(crate) probe_timeout: Option<Spanned<Duration>>,
    pub(crate) when: Option<Path>,
    pub(crate) shared: Option<Spanned<bool>>,
    /// With `shared = true`: the replicas that must open it before the
    /// fleet does.
    pub(crate) quorum: Option<Spanned<u32>>,
    /// One breaker per value of this expression over the arguments.
    pub(crate) key: Option<Expr>,
    /// The most keys kept, with `key`.
    pub(crate) max_keys: Option<Spanned<u32>>,
    /// Failures in a row that open it, in place of the rate rule.
    pub(crate) consecutive: Option<Spanned<u32>>,
    /// Client-side throttling's K, in place of opening.
    pub(crate) throttle: Option<Spanned<f64>>,
    /// `name = ..` was written, valid or not (an invalid one is reported as such).
    name_written: bool,
}

impl Keys for BreakerArgs {
    const ATTRIBUTE: &'static str = "breaker";
    const KEYS: &'static [&'static str] = &[
        "name",
        "failure_rate",
        "window",
        "min_calls",
        "open_for",
        "half_open_calls",
        "probe_timeout",
        "when",
        "key",
        "max_keys",
        "shared",
        "quorum",
        "consecutive",
        "throttle",
    ];
    const EXAMPLE: &'static str = "name = \"payments\"";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "name" => {
                self.name_written = true;
                self.name = Some(name(value, NAME_HELP)?);
            }
            "failure_rate" => self.failure_rate = Some(failure_rate(value)?),
            "throttle" => {
                let help = "`throttle` is client-side throttling's K: calls go through up to K times the ones the dependency accepts, the rest are rejected in proportion; `throttle = 2`";
                self.throttle = Some(float_at_least(value, "throttle", 1.0, help)?);
            }
            "consecutive" => {
                let help = "`consecutive` opens the breaker after that many failures in a row, as pybreaker's `fail_max`: `consecutive = 5`";
                self.consecutive = Some(positive_u32(value, "consecutive", help)?);
            }
            "window" => self.window = Some(positive_duration(value, "window")?),
            "open_for" => self.open_for = Some(duration(value, "open_for")?),
            "min_calls" => {
                let help = "`min_calls` is how many calls the window must hold before its failure rate is judged";
                self.min_calls = Some(positive_u32(value, "min_calls", help)?);
            }
            "half_open_calls" => {
                let help =
                    "`half_open_calls` is how many probe calls a half-open breaker lets through";
                self.half_open_calls = Some(positive_u32(value, "half_open_calls", help)?);
            }
            "probe_timeout" => {
                self.probe_timeout = Some(positive_duration(value, "probe_timeout")?);
            }
            "when" => self.when = Some(path(value, "when", "when = counts_as_failure")?),
            // Checked against the arguments by `expand::breaker::check`.
            "key" => self.key = Some(value.clone()),
            "max_keys" => {
                let help = "`max_keys` is how many keys keep a breaker; past it closed breakers used least recently are dropped first";
                self.max_keys = Some(positive_u32(value, "max_keys", help)?);
            }
            "shared" => {
                let help = "`shared = true` shares the breaker's open and half-open state across replicas over Redis (feature `redis`)";
                self.shared = Some(boolean(value, "shared", help)?);
            }
            "quorum" => {
                let help = "`quorum` is how many replicas must open a shared breaker before it opens across the fleet: `quorum = 2` (the default) needs two, `quorum = 1` spreads any one replica's opening";
                self.quorum = Some(positive_u32(value, "quorum", help)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        if !self.name_written {
            errors.push(error(
                proc_macro2::Span::call_site(),
                "`#[breaker]` needs a `name`: breakers of the same name share one state",
                "write `#[breaker(name = \"payments\")]`, naming the dependency it guards",
            ));
        }
        if let (Some(max_keys), None) = (self.max_keys, &self.key) {
            errors.push(error(
                max_keys.span,
                "`max_keys` bounds the breakers of a `key`, and this `#[breaker]` has no `key`",
                "add `key = ...` (one breaker per value, such as `key = host`), or remove `max_keys`",
            ));
        }
        if let (Some(quorum), false) = (self.quorum, self.shared.is_some_and(|s| s.value)) {
            errors.push(error(
                quorum.span,
                "`quorum` counts the replicas that must open a shared breaker before the fleet opens it, and this `#[breaker]` is not shared",
                "add `shared = true` (feature `redis`) to share the breaker across replicas, or remove `quorum`",
            ));
        }
        if self.throttle.is_some() {
            let other_rules = [
                ("failure_rate", self.failure_rate.map(|rate| rate.span)),
                ("min_calls", self.min_calls.map(|calls| calls.span)),
                ("consecutive", self.consecutive.map(|calls| calls.span)),
            ];
            for (key, span) in other_rules {
                if let Some(span) = span {
                    errors.push(error(
                        span,
                        format!("`{key}` has no effect with `throttle`, which never opens the breaker: it rejects a share of calls instead"),
                        format!("remove `{key}` to throttle, or remove `throttle` to open the breaker on its rule"),
                    ));
                }
            }
        } else if self.consecutive.is_some() {
            let rate_keys = [
                ("failure_rate", self.failure_rate.map(|rate| rate.span)),
                ("min_calls", self.min_calls.map(|calls| calls.span)),
            ];
            for (key, span) in rate_keys {
                if let Some(span) = span {
                    errors.push(error(
                        span,
                        format!("`{key}` has no effect with `consecutive`, which opens on failures in a row whatever the rate"),
                        format!("remove `{key}` to open on failures in a row, or remove `consecutive` to open on the failure rate"),
                    ));
                }
            }
        }
        if let (Some(shared), Some(_)) = (self.shared.filter(|s| s.value), &self.key) {
            errors.push(error(
                shared.span,
                "`shared = true` does not share keyed breakers yet: the fleet shares one state per name, and `key` keeps one per value",
                "remove `shared` to keep the keyed breakers per process, or remove `key` to share one breaker for the name",
            ));
        }
    }
}

fn failure_rate(value: &Expr) -> syn::Result<Spanned<f64>> {
    let span = value.span();
    let help = "`failure_rate` is the share of failed calls above which the breaker opens: 0.5 opens above half";
    let number = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Float(float),
            ..
        }) => float.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<f64>().ok(),
        _ => None,
    };
    match number {
        Some(rate) if rate > 0.0 && rate <= 1.0 => Ok(Spanned { value: rate, span }),
        Some(_) => Err(error(
            span,
            "`failure_rate` must be greater than 0 and at most 1",
            help,
        )),
        None => Err(error(
            span,
            "`failure_rate` expects a number between 0 and 1",
            help,
        )),
    }
}

fn positive_duration(value: &Expr, key: &str) -> syn::Result<Spanned<Duration>> {
    let parsed = duration(value, key)?;
    if parsed.value.is_zero() {
        return Err(error(
            parsed.span,
            format!("`{key}` must be longer than zero"),
            format!("for example `{key} = 10` (seconds)"),
        ));
    }
    Ok(parsed)
}
