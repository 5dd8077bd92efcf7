//! `#[fallback(fn = cached_profile, when = is_transient)]`

use syn::{Expr, Path};

use super::{Errors, Keys, error, path};

#[derive(Default)]
pub(crate) struct FallbackArgs {
    /// Required; `None` only while parsing.
    pub(crate) function: Option<Path>,
    pub(crate) when: Option<Path>,
    /// `fn = ..` was written, valid or not (an invalid one is reported as such).
    function_written: bool,
}

impl Keys for FallbackArgs {
    const ATTRIBUTE: &'static str = "fallback";
    const KEYS: &'static [&'static str] = &["fn", "when"];
    const EXAMPLE: &'static str = "fn = cached_profile";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "fn" => {
                self.function_written = true;
                self.function = Some(path(value, "fn", "fn = cached_profile")?);
            }
            "when" => self.when = Some(path(value, "when", "when = is_transient")?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        if !self.function_written {
            errors.push(error(
                proc_macro2::Span::call_site(),
                "`#[fallback]` needs the function to call on an error: `fn = ...`",
                "write `#[fallback(fn = cached_profile)]`, where `cached_profile` takes this function's arguments followed by the error",
            ));
        }
    }
}
