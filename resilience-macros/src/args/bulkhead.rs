//! `#[bulkhead(max_concurrent = 10, max_wait = "50ms", name = "search")]`

use std::time::Duration;

use syn::{Expr, LitStr};

use super::{Errors, Keys, Spanned, duration, error, name, positive_u32};

const NAME_HELP: &str = "name the bulkhead to share it between functions: `name = \"search\"`";

#[derive(Default)]
pub(crate) struct BulkheadArgs {
    /// Required; `None` only while parsing, or when the value was invalid
    /// (and reported).
    pub(crate) max_concurrent: Option<Spanned<u32>>,
    pub(crate) max_wait: Option<Spanned<Duration>>,
    /// Shared by every function naming it; else the function's own.
    pub(crate) name: Option<LitStr>,
    /// `max_concurrent = ..` was written, valid or not.
    max_concurrent_written: bool,
}

impl Keys for BulkheadArgs {
    const ATTRIBUTE: &'static str = "bulkhead";
    const KEYS: &'static [&'static str] = &["max_concurrent", "max_wait", "name"];
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
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        if !self.max_concurrent_written {
            errors.push(error(
                proc_macro2::Span::call_site(),
                "`#[bulkhead]` needs a limit: `max_concurrent = ...`",
                "write `#[bulkhead(max_concurrent = 10)]`: at most 10 calls run at once, a further one is turned away with your error from `BulkheadFull` (add `max_wait = \"50ms\"` to let it wait for a slot)",
            ));
        }
    }
}
