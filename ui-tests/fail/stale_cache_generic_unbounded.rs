use resilience_runtime::stale_cache;

// Cached per instantiation, but `T` may be neither `Clone` nor `'static`.
#[stale_cache]
fn parse<T: std::str::FromStr>(text: String) -> Result<T, String> {
    text.parse().map_err(|_| text.clone())
}

fn main() {
    let _ = parse::<u8>("1".into());
}
