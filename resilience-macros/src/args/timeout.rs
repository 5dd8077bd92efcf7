//! `#[timeout(after = "2s")]`

use std::time::Duration;

use syn::Expr;

use super::{Errors, Keys, Spanned, duration, error};

#[derive(Default)]
pub(crate) struct TimeoutArgs {
    /// Required; `None` only while parsing, or when the value was invalid
    /// (and reported).
    pub(crate) after: Option<Spanned<Duration>>,
    /// `after = ..` was written, valid or not.
    after_written: bool,
}

impl Keys for TimeoutArgs {
    const ATTRIBUTE: &'static str = "timeout";
    const KEYS: &'static [&'static str] = &["after"];
    const EXAMPLE: &'static str = "after = \"2s\"";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "after" => {
                self.after_written = true;
                let after = duration(value, "after")?;
                if after.value.is_zero() {
                    return Err(error(
                        after.span,
                        "`after` must be longer than zero: every call would time out",
                        "give the longest a call may take, for example `after = \"2s\"`",
                    ));
                }
                self.after = Some(after);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        if !self.after_written {
            errors.push(error(
                proc_macro2::Span::call_site(),
                "`#[timeout]` needs a bound: `after = ...`",
                "write `#[timeout(after = \"2s\")]`: a call still running after it is dropped and returns your error from `TimedOut`",
            ));
        }
    }
}
