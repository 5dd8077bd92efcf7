//! The chaos control routes (features `tower` and `chaos`): an injection
//! started from plain query values, stopped by target or all at once, and
//! listed in the JSON.

use std::time::Duration;

use serde::Serialize;

/// One injection in force, as the status JSON lists it under `chaos`
/// (feature `chaos`: see `chaos::inject`; without it the list is empty).
///
/// ```
/// use resilience_runtime::status::Snapshot;
///
/// for injection in Snapshot::now().chaos {
///     println!("{}: {} errors, {} ms late", injection.target, injection.errors, injection.latency_ms);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct InjectionRow {
    /// A decorated function's path, or a breaker's name.
    pub target: String,
    /// The share of calls that fail with the registered error.
    pub errors: f64,
    /// The share of calls that hang.
    pub hangs: f64,
    /// Milliseconds added to every call.
    pub latency_ms: u64,
    /// The seed of the draws.
    pub seed: u64,
}

/// Every injection in force (none without the `chaos` feature).
pub(super) fn rows() -> Vec<InjectionRow> {
    #[cfg(feature = "chaos")]
    {
        crate::chaos::injections()
            .into_iter()
            .map(|(target, fault)| row(target, &fault))
            .collect()
    }
    #[cfg(not(feature = "chaos"))]
    Vec::new()
}

#[cfg(feature = "chaos")]
fn row(target: String, fault: &crate::chaos::Fault) -> InjectionRow {
    InjectionRow {
        target,
        errors: fault.error_share(),
        hangs: fault.hang_share(),
        latency_ms: crate::clock::millis(fault.latency_value()),
        seed: fault.seed_value(),
    }
}

/// Starts (or replaces) the injection into `target` that `query` describes:
/// `errors`, `hangs` (shares, 0 unless given), `latency_ms` (0) and `seed`
/// (0). The row injected, or why not, in words.
pub(super) fn start(target: &str, query: Option<&str>) -> Result<InjectionRow, String> {
    let mut errors = 0.0;
    let mut hangs = 0.0;
    let mut latency_ms = 0;
    let mut seed = 0;
    for (field, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let bad = || format!("`{field}` must be a number, got {value:?}");
        match &*field {
            "errors" => errors = value.parse().map_err(|_| bad())?,
            "hangs" => hangs = value.parse().map_err(|_| bad())?,
            "latency_ms" => latency_ms = value.parse().map_err(|_| bad())?,
            "seed" => seed = value.parse().map_err(|_| bad())?,
            _ => {
                return Err(format!(
                    "unknown field `{field}`: the fields are errors, hangs, latency_ms and seed"
                ));
            }
        }
    }
    inject(
        target,
        errors,
        hangs,
        Duration::from_millis(latency_ms),
        seed,
    )
}

#[cfg(feature = "chaos")]
fn inject(
    target: &str,
    errors: f64,
    hangs: f64,
    latency: Duration,
    seed: u64,
) -> Result<InjectionRow, String> {
    use crate::chaos::{self, Fault};
    let fault = Fault::new(seed)
        .errors(errors)
        .hangs(hangs)
        .latency(latency);
    chaos::inject(target, fault).map_err(|error| error.to_string())?;
    Ok(row(target.to_owned(), &fault))
}

#[cfg(not(feature = "chaos"))]
fn inject(_: &str, _: f64, _: f64, _: Duration, _: u64) -> Result<InjectionRow, String> {
    Err("chaos injection is off: build resilience-runtime with its `chaos` feature".to_owned())
}

/// Stops the injection into `target`; whether there was one.
pub(super) fn stop(target: &str) -> bool {
    #[cfg(feature = "chaos")]
    return crate::chaos::stop(target);
    #[cfg(not(feature = "chaos"))]
    {
        let _ = target;
        false
    }
}

/// Stops every injection.
pub(super) fn stop_all() {
    #[cfg(feature = "chaos")]
    crate::chaos::stop_all();
}
