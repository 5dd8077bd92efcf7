//! `#[stale_cache(maxage = 3, tolerance = 15, retries = 2, capacity = 10_000,
//! max_bytes = 64_000_000, refresh = "inline", key = user_id.clone(), shared = true,
//! name = "profiles", version = 2)]`

use std::time::Duration;

use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::{
    Errors, Keys, Spanned, boolean, choice, duration, error, name, positive_u32, positive_u64,
};

const NAME_HELP: &str =
    "name the cache's entries in Redis, stable across renames: `name = \"profiles\"`";

/// `refresh = ...`, as the runtime's `Refresh`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Refresh {
    Inline,
    Background,
}

/// The runtime's defaults, for checks across keys.
pub(crate) const DEFAULT_MAXAGE: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_TOLERANCE: Duration = Duration::from_secs(30);
pub(crate) const DEFAULT_RETRIES: u32 = 2;

#[derive(Default)]
pub(crate) struct StaleCacheArgs {
    pub(crate) maxage: Option<Spanned<Duration>>,
    pub(crate) tolerance: Option<Spanned<Duration>>,
    pub(crate) retries: Option<Spanned<u32>>,
    pub(crate) capacity: Option<Spanned<u32>>,
    /// The most bytes the kept values weigh together (by the runtime's `Weigh`).
    pub(crate) max_bytes: Option<Spanned<u64>>,
    pub(crate) refresh: Option<Spanned<Refresh>>,
    pub(crate) key: Option<Expr>,
    pub(crate) shared: Option<Spanned<bool>>,
    /// The identity of a shared cache's entries in Redis.
    pub(crate) name: Option<LitStr>,
    /// The version of a shared cache's value type, bumped by the user.
    pub(crate) version: Option<Spanned<u32>>,
}

impl StaleCacheArgs {
    pub(crate) fn retries(&self) -> u32 {
        self.retries.map_or(DEFAULT_RETRIES, |r| r.value)
    }

    pub(crate) fn shared(&self) -> bool {
        self.shared.is_some_and(|s| s.value)
    }

    pub(crate) fn refresh(&self) -> Refresh {
        self.refresh.map_or(Refresh::Inline, |r| r.value)
    }
}

impl Keys for StaleCacheArgs {
    const ATTRIBUTE: &'static str = "stale_cache";
    const KEYS: &'static [&'static str] = &[
        "maxage",
        "tolerance",
        "retries",
        "capacity",
        "max_bytes",
        "refresh",
        "key",
        "shared",
        "name",
        "version",
    ];
    const EXAMPLE: &'static str = "maxage = 3, tolerance = 15";

    fn assign(&mut self, key: &str, value: &Expr) -> syn::Result<bool> {
        match key {
            "maxage" => self.maxage = Some(duration(value, "maxage")?),
            "tolerance" => self.tolerance = Some(duration(value, "tolerance")?),
            "retries" => self.retries = Some(retries(value)?),
            "capacity" => {
                let help = "`capacity` is the most entries the cache keeps, for example `capacity = 10_000`";
                self.capacity = Some(positive_u32(value, "capacity", help)?);
            }
            "max_bytes" => {
                let help = "`max_bytes` is the most bytes the kept values weigh together (by `resilience_runtime::stale_cache::Weigh`), for example `max_bytes = 64_000_000`";
                self.max_bytes = Some(positive_u64(value, "max_bytes", help)?);
            }
            "refresh" => {
                let options = [
                    ("inline", Refresh::Inline),
                    ("background", Refresh::Background),
                ];
                self.refresh = Some(choice(value, "refresh", &options)?);
            }
            "key" => self.key = Some(value.clone()),
            "shared" => {
                let help =
                    "`shared = true` shares the cache across replicas over Redis (feature `redis`)";
                self.shared = Some(boolean(value, "shared", help)?);
            }
            "name" => self.name = Some(name(value, NAME_HELP)?),
            "version" => {
                let help = "`version` marks a changed value type of a shared cache: bump it (`version = 2`) when the meaning of the cached value changes";
                self.version = Some(positive_u32(value, "version", help)?);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn validate(&self, errors: &mut Errors) {
        if let Some(name) = &self.name
            && !self.shared()
        {
            errors.push(error(
                name.span(),
                "`name` names a shared cache's entries in Redis, and this cache is not shared",
                "add `shared = true` to share it across replicas under this name, or remove `name`",
            ));
        }
        if let Some(version) = self.version
            && !self.shared()
        {
            errors.push(error(
                version.span,
                "`version` marks the value type of a shared cache's entries in Redis, and this cache is not shared",
                "add `shared = true`, or remove `version`",
            ));
        }
        let maxage = self.maxage.map_or(DEFAULT_MAXAGE, |m| m.value);
        match (self.tolerance, self.maxage) {
            (Some(tolerance), _) if tolerance.value < maxage => errors.push(error(
                tolerance.span,
                "`tolerance` is shorter than `maxage`: a value would be too old to serve before it is even stale",
                "`tolerance` is the oldest total age that may be served when a refresh fails: make it at least `maxage`",
            )),
            (None, Some(maxage)) if maxage.value > DEFAULT_TOLERANCE => errors.push(error(
                maxage.span,
                "`maxage` is longer than the default `tolerance` of 30 s",
                "set `tolerance` too, at least as long as `maxage`",
            )),
            _ => {}
        }
    }
}

fn retries(value: &Expr) -> syn::Result<Spanned<u32>> {
    let help = "`retries` is how many extra attempts a failed load or refresh gets (waits of 0.1 s × 2ⁿ); 0 for none";
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<u32>() {
            Ok(value) if value <= 16 => Ok(Spanned {
                value,
                span: int.span(),
            }),
            _ => Err(error(
                int.span(),
                "`retries` must be a whole number from 0 to 16",
                help,
            )),
        },
        other => Err(error(
            other.span(),
            "`retries` expects a whole number",
            help,
        )),
    }
}
