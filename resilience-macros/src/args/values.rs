//! Checked values: each turns an expression into what a key expects, or an
//! error at the expression that says what is expected.

use std::time::Duration;

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, Path, UnOp};

use super::{Spanned, error};

const DURATION_HELP: &str = "write a number of seconds (`2`, `0.5`) or a string with a unit (`\"250ms\"`, `\"2s\"`, `\"1m\"`, `\"1h\"`)";

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn negative(value: &Expr) -> bool {
    matches!(
        value,
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            ..
        })
    )
}

/// A whole number ≥ 1, such as `max = 3`.
pub(crate) fn positive_u32(value: &Expr, key: &str, help: &str) -> syn::Result<Spanned<u32>> {
    let Spanned { value, span } = positive_u64(value, key, help)?;
    match u32::try_from(value) {
        Ok(value) => Ok(Spanned { value, span }),
        Err(_) => Err(error(span, format!("`{key}` is too large"), help)),
    }
}

/// A whole number ≥ 1 up to `u64::MAX`, such as `max_bytes = 64_000_000`.
pub(crate) fn positive_u64(value: &Expr, key: &str, help: &str) -> syn::Result<Spanned<u64>> {
    let span = value.span();
    let int = match literal(value) {
        Some(Lit::Int(int)) => int,
        Some(Lit::Str(text)) if text.value().trim().parse::<u64>().is_ok() => {
            return Err(quoted_number(span, key, &text.value()));
        }
        _ => return Err(error(span, format!("`{key}` expects a whole number"), help)),
    };
    match int.base10_parse::<u64>() {
        Ok(0) => Err(error(span, format!("`{key}` must be at least 1"), help)),
        Ok(value) => Ok(Spanned { value, span }),
        Err(_) => Err(error(span, format!("`{key}` is too large"), help)),
    }
}

/// A number ≥ `min`, integer or float, such as `factor = 1.5`.
pub(crate) fn float_at_least(
    value: &Expr,
    key: &str,
    min: f64,
    help: &str,
) -> syn::Result<Spanned<f64>> {
    let span = value.span();
    let number = match literal(value) {
        Some(Lit::Float(float)) => float.base10_parse::<f64>().ok(),
        Some(Lit::Int(int)) => int.base10_parse::<f64>().ok(),
        Some(Lit::Str(text)) if text.value().trim().parse::<f64>().is_ok() => {
            return Err(quoted_number(span, key, &text.value()));
        }
        _ => None,
    };
    match number {
        Some(value) if value.is_finite() && value >= min => Ok(Spanned { value, span }),
        Some(_) => Err(error(span, format!("`{key}` must be at least {min}"), help)),
        None => Err(error(span, format!("`{key}` expects a number"), help)),
    }
}

/// `max = "3"`: a number written as a string.
fn quoted_number(span: Span, key: &str, text: &str) -> syn::Error {
    let number = text.trim();
    error(
        span,
        format!("`{key}` expects a number, not a string"),
        format!("drop the quotes: `{key} = {number}`"),
    )
}

/// `true` or `false`, such as `shared = true`.
pub(crate) fn boolean(value: &Expr, key: &str, help: &str) -> syn::Result<Spanned<bool>> {
    match literal(value) {
        Some(Lit::Bool(flag)) => Ok(Spanned {
            value: flag.value,
            span: flag.span(),
        }),
        Some(Lit::Str(text)) if matches!(text.value().trim(), "true" | "false") => Err(error(
            text.span(),
            format!("`{key}` expects `true` or `false`, not a string"),
            format!("drop the quotes: `{key} = {}`", text.value().trim()),
        )),
        _ => Err(error(
            value.span(),
            format!("`{key}` expects `true` or `false`"),
            help,
        )),
    }
}

/// One of a fixed set of strings, such as `backoff = "exp"`.
pub(crate) fn choice<T: Copy>(
    value: &Expr,
    key: &str,
    options: &[(&str, T)],
) -> syn::Result<Spanned<T>> {
    let span = value.span();
    let listed: Vec<String> = options
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let help = format!("`{key}` is one of {}", listed.join(", "));
    let Some(Lit::Str(text)) = literal(value) else {
        return Err(error(span, format!("`{key}` expects a string"), help));
    };
    let written = text.value();
    match options.iter().find(|(name, _)| *name == written) {
        Some((_, value)) => Ok(Spanned {
            value: *value,
            span,
        }),
        None => Err(error(
            span,
            format!("unknown `{key}` value \"{written}\""),
            help,
        )),
    }
}

/// A duration: seconds as a number, or a string with a unit.
pub(crate) fn duration(value: &Expr, key: &str) -> syn::Result<Spanned<Duration>> {
    let span = value.span();
    if negative(value) {
        return Err(error(
            span,
            format!("`{key}` cannot be negative"),
            DURATION_HELP,
        ));
    }
    let parsed = match literal(value) {
        Some(Lit::Int(int)) => int.base10_parse::<f64>().ok().and_then(seconds),
        Some(Lit::Float(float)) => float.base10_parse::<f64>().ok().and_then(seconds),
        Some(Lit::Str(text)) => with_unit(&text.value()),
        _ => None,
    };
    match parsed {
        Some(value) => Ok(Spanned { value, span }),
        None => Err(malformed_duration(span, key, value)),
    }
}

fn malformed_duration(span: Span, key: &str, value: &Expr) -> syn::Error {
    if let Some(Lit::Str(text)) = literal(value)
        && let Ok(seconds) = text.value().trim().parse::<f64>()
    {
        return error(
            span,
            format!("`{key}` is a string without a unit: `{}`", text.value()),
            format!(
                "drop the quotes for seconds (`{key} = {seconds}`), or add a unit (`\"{seconds}s\"`)"
            ),
        );
    }
    let written = quote::ToTokens::to_token_stream(value).to_string();
    error(
        span,
        format!("`{key}` is not a duration: `{written}`"),
        DURATION_HELP,
    )
}

fn seconds(seconds: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(seconds).ok()
}

fn with_unit(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    seconds(number * scale)
}

/// A path to a function or crate, such as `when = is_transient`.
pub(crate) fn path(value: &Expr, key: &str, example: &str) -> syn::Result<Path> {
    match value {
        Expr::Path(expr) if expr.qself.is_none() => Ok(expr.path.clone()),
        Expr::Group(group) => path(&group.expr, key, example),
        Expr::Lit(ExprLit {
            lit: Lit::Str(text),
            ..
        }) => match text.parse::<Path>() {
            // `crate = "..."` is the convention of serde and tokio; accept it.
            Ok(path) if key == "crate" => Ok(path),
            _ => Err(error(
                value.span(),
                format!("`{key}` takes a path, not a string"),
                format!("write the path without quotes: `{example}`"),
            )),
        },
        Expr::Closure(_) => Err(error(
            value.span(),
            format!("`{key}` takes the path of a function, not a closure"),
            format!("define the function and name it: `{example}`"),
        )),
        _ => Err(error(
            value.span(),
            format!("`{key}` expects a path"),
            format!("for example `{example}`"),
        )),
    }
}

/// A string literal that is not blank: a `name` (of a breaker, of a shared
/// cache's entries).
pub(crate) fn name(value: &Expr, help: &str) -> syn::Result<LitStr> {
    label(value, "name", help)
}

/// A string literal that is not blank, the value of `key` (`name`, a retry
/// `budget`).
pub(crate) fn label(value: &Expr, key: &str, help: &str) -> syn::Result<LitStr> {
    match literal(value) {
        Some(Lit::Str(name)) if name.value().trim().is_empty() => {
            Err(error(name.span(), format!("`{key}` cannot be empty"), help))
        }
        Some(Lit::Str(name)) => Ok(name.clone()),
        _ => Err(error(
            value.span(),
            format!("`{key}` expects a string"),
            help,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(text: &str) -> Expr {
        syn::parse_str(text).unwrap()
    }

    #[test]
    fn durations_take_seconds_or_a_unit() {
        let parse = |text| duration(&expr(text), "delay").map(|d| d.value).ok();
        assert_eq!(parse("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse("\"250ms\""), Some(Duration::from_millis(250)));
        assert_eq!(parse("\"2s\""), Some(Duration::from_secs(2)));
        assert_eq!(parse("\"1.5m\""), Some(Duration::from_secs(90)));
        assert_eq!(parse("\"1h\""), Some(Duration::from_secs(3600)));
        assert_eq!(parse("\"2 secs\""), None);
        assert_eq!(parse("\"ms\""), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("true"), None);
    }

    #[test]
    fn choices_list_the_valid_values() {
        let options = [("exp", 1), ("fixed", 2)];
        assert_eq!(
            choice(&expr("\"fixed\""), "backoff", &options)
                .unwrap()
                .value,
            2
        );
        let message = choice(&expr("\"expo\""), "backoff", &options)
            .err()
            .unwrap()
            .to_string();
        assert!(message.contains("\"exp\", \"fixed\""), "{message}");
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(positive_u32(&expr("4"), "max", "").unwrap().value, 4);
        assert!(positive_u32(&expr("0"), "max", "").is_err());
        assert!(positive_u32(&expr("1.5"), "max", "").is_err());
        let quoted = positive_u32(&expr("\"3\""), "max", "").err().unwrap();
        assert!(
            quoted.to_string().contains("drop the quotes: `max = 3`"),
            "{quoted}"
        );
        let quoted = float_at_least(&expr("\"2\""), "factor", 1.0, "")
            .err()
            .unwrap();
        assert!(quoted.to_string().contains("`factor = 2`"), "{quoted}");
        let unitless = duration(&expr("\"0.5\""), "delay").err().unwrap();
        assert!(unitless.to_string().contains("`delay = 0.5`"), "{unitless}");
        assert!(float_at_least(&expr("0.5"), "factor", 1.0, "").is_err());
        assert_eq!(
            float_at_least(&expr("3"), "factor", 1.0, "").unwrap().value,
            3.0
        );
    }
}
