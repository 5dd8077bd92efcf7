//! `#[bulkhead(max_concurrent = 10, max_wait = "50ms", name = "search",
//! adaptive = true, min_concurrent = 2)]`

use std::time::Duration;

use syn::{Expr, LitStr};

use super::{Errors, Keys, Spanned, boolean, duration, error, name, positive_u32};

const NAME_HELP: &str = "name the bulkhead to share it between functions: `name = \"search\"`";

#[derive(Default)]
pub(crate) struct BulkheadArgs {
    /// Required; `None` only while parsing, or when the value was invalid
    /// (and reported).
    pub(crate) max_concurrent: Option<Spanned<u32>>,
    pub(crate) max_wait: Option<Spanned<Duration>>,
    /// Shared by every function naming it; else the function's own.
    pub(crate) name: Option<LitStr>,
    /// The limit follows latency, between `min_concurrent` and
    /// `max_concurrent`.
    pub(crate) adaptive: Option<Spanned<bool>>,
    /// The adaptive limit's floor.
    pub(crate) min_concurrent: Option<Spanned<u32>>,
    /// `max_concurrent = ..` was written, valid or not.
    max_concurrent_written: bool,
}

impl Keys for BulkheadArgs {
    const ATTRIBUTE: &'static str = "bulkhead";
    const KEYS: &'static [&'static str] = &[
        "max_concurrent",
        "max_wait",
        "name",
        "adaptive",
        "min_concurrent",
    ];
    const EXAMPLE: &'static str = "max_concurrent = 10, max_wait = \"50ms\"";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "max_concurrent" => {
                self.max_concurrent_written = true;
                let help =
                    "`max_concurrent` is how many calls may run at once: `max_concurrent = 10`";
                self.max_concurrent = Some(positive_u32(value, "max_concurrent", help)?);
            }
            "max_wait" => self.max_wait = Some(duration(value, "max_wait")?),
            "name" => self.name = Some(name(value, NAME_HELP)?),
            "adaptive" => {
                let help = "`adaptive = true` lets the limit follow the calls' latency, between `min_concurrent` and `max_concurrent`";
                self.adaptive = Some(boolean(value, "adaptive", help)?);
            }
            "min_concurrent" => {
                let help = "`min_concurrent` is the least an adaptive limit falls to: `min_concurrent = 2`";
                self.min_concurrent = Some(positive_u32(value, "min_concurrent", help)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        let adaptive = self.adaptive.is_some_and(|adaptive| adaptive.value);
        if let (Some(floor), false) = (self.min_concurrent, adaptive) {
            errors.push(error(
                floor.span,
                "`min_concurrent` is the floor of an adaptive limit, and this `#[bulkhead]` is not adaptive",
                "add `adaptive = true` to let the limit follow the calls' latency, or remove `min_concurrent`",
            ));
        }
        if let (Some(floor), Some(ceiling)) = (self.min_concurrent, self.max_concurrent)
            && floor.value > ceiling.value
        {
            errors.push(error(
                floor.span,
                "`min_concurrent` is above `max_concurrent`: the limit could not move",
                "make `min_concurrent` at most `max_concurrent`",
            ));
        }
        if !self.max_concurrent_written {
            errors.push(error(
                proc_macro2::Span::call_site(),
                "`#[bulkhead]` needs a limit: `max_concurrent = ...`",
                "write `#[bulkhead(max_concurrent = 10)]`: at most 10 calls run at once, a further one is turned away with your error from `BulkheadFull` (add `max_wait = \"50ms\"` to let it wait for a slot)",
            ));
        }
    }
}
