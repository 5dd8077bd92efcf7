//! `#[retry(max = 3, backoff = "exp", delay = 0.5, factor = 2, max_delay = 30,
//! jitter = "equal", when = is_transient, max_elapsed = 10,
//! delay_from = retry_after, when_ok = is_pending, budget = "payments")]`

use std::time::Duration;

use syn::{Expr, LitStr, Path};

use super::{
    Errors, Keys, Spanned, choice, duration, error, float_at_least, label, path, positive_u32,
};

/// `backoff = ...`, as the runtime's `Backoff`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Backoff {
    Exponential,
    Fixed,
    None,
}

/// `jitter = ...`, as the runtime's `Jitter`.
#[derive(Clone, Copy)]
pub(crate) enum Jitter {
    Full,
    Equal,
    None,
}

#[derive(Default)]
pub(crate) struct RetryArgs {
    pub(crate) max: Option<Spanned<u32>>,
    pub(crate) backoff: Option<Spanned<Backoff>>,
    pub(crate) delay: Option<Spanned<Duration>>,
    pub(crate) factor: Option<Spanned<f64>>,
    pub(crate) max_delay: Option<Spanned<Duration>>,
    pub(crate) jitter: Option<Spanned<Jitter>>,
    pub(crate) when: Option<Path>,
    pub(crate) max_elapsed: Option<Spanned<Duration>>,
    pub(crate) delay_from: Option<Path>,
    pub(crate) when_ok: Option<Path>,
    pub(crate) budget: Option<LitStr>,
}

impl Keys for RetryArgs {
    const ATTRIBUTE: &'static str = "retry";
    const KEYS: &'static [&'static str] = &[
        "max",
        "backoff",
        "delay",
        "factor",
        "max_delay",
        "jitter",
        "when",
        "max_elapsed",
        "delay_from",
        "when_ok",
        "budget",
    ];
    const EXAMPLE: &'static str = "max = 3, backoff = \"exp\"";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "max" => {
                let help = "`max` counts attempts in all, the first included: `max = 1` calls once and never retries";
                self.max = Some(positive_u32(value, "max", help)?);
            }
            "backoff" => {
                let options = [
                    ("exp", Backoff::Exponential),
                    ("fixed", Backoff::Fixed),
                    ("none", Backoff::None),
                ];
                self.backoff = Some(choice(value, "backoff", &options)?);
            }
            "jitter" => {
                let options = [
                    ("full", Jitter::Full),
                    ("equal", Jitter::Equal),
                    ("none", Jitter::None),
                ];
                self.jitter = Some(choice(value, "jitter", &options)?);
            }
            "delay" => self.delay = Some(duration(value, "delay")?),
            "max_delay" => self.max_delay = Some(duration(value, "max_delay")?),
            "factor" => {
                let help = "`factor` multiplies each wait of `backoff = \"exp\"`; 2 doubles it";
                self.factor = Some(float_at_least(value, "factor", 1.0, help)?);
            }
            "when" => self.when = Some(path(value, "when", "when = is_transient")?),
            "max_elapsed" => {
                let budget = duration(value, "max_elapsed")?;
                if budget.value.is_zero() {
                    return Err(error(
                        budget.span,
                        "`max_elapsed` must be longer than zero: no attempt could start",
                        "give the time budget of the whole call, first attempt included: `max_elapsed = 10` (seconds)",
                    ));
                }
                self.max_elapsed = Some(budget);
            }
            "delay_from" => {
                self.delay_from = Some(path(value, "delay_from", "delay_from = retry_after")?);
            }
            "when_ok" => self.when_ok = Some(path(value, "when_ok", "when_ok = is_pending")?),
            "budget" => {
                let help = "name the retry budget the function's retries draw on, shared by every function naming it: `budget = \"payments\"`";
                self.budget = Some(label(value, "budget", help)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        let backoff = self.backoff.map_or(Backoff::Exponential, |b| b.value);
        if let Some(factor) = self.factor
            && backoff != Backoff::Exponential
        {
            errors.push(error(
                factor.span,
                "`factor` only applies to `backoff = \"exp\"`",
                "remove `factor`, or use `backoff = \"exp\"`",
            ));
        }
        if backoff == Backoff::None {
            for (key, setting) in [("delay", self.delay), ("max_delay", self.max_delay)] {
                if let Some(setting) = setting {
                    errors.push(error(
                        setting.span,
                        format!(
                            "`{key}` has no effect with `backoff = \"none\"`, which retries at once"
                        ),
                        format!("remove `{key}`, or choose `backoff = \"exp\"` or `\"fixed\"`"),
                    ));
                }
            }
        }
        if let (Some(delay), Some(max_delay)) = (self.delay, self.max_delay)
            && delay.value > max_delay.value
        {
            errors.push(error(
                max_delay.span,
                "`max_delay` is shorter than `delay`: every wait would be cut to `max_delay`",
                "make `max_delay` at least `delay`, or lower `delay`",
            ));
        }
    }
}
