//! A generic function, cached per instantiation, sync and async.
#![deny(warnings, clippy::all)]

use std::str::FromStr;

use resilience_runtime::stale_cache;

#[stale_cache]
fn parse<T: FromStr + Clone + Send + Sync + 'static>(text: String) -> Result<T, String> {
    text.parse().map_err(|_| text.clone())
}

#[stale_cache(maxage = 60, tolerance = 600)]
async fn get_json<T: FromStr + Clone + Send + Sync + 'static>(url: String) -> Result<T, String> {
    url.parse().map_err(|_| url.clone())
}

fn main() {
    let _ = parse::<u32>("1".into());
    let _ = get_json::<u64>("2".into());
}
