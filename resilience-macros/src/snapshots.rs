//! What users' code expands into, on file: a fixed set of representative
//! functions expanded and pretty-printed, compared with the snapshots under
//! `tests/expanded/`. A change to the generated code shows up in review as a
//! diff there. After an intended change, regenerate them with
//! `INSTA_UPDATE=always cargo test -p resilience-macros snapshots` and read
//! the diff.

use crate::args::Keys;
use crate::args::breaker::BreakerArgs;
use crate::args::fallback::FallbackArgs;
use crate::args::retry::RetryArgs;
use crate::args::stale_cache::StaleCacheArgs;
use crate::args::timeout::TimeoutArgs;
use crate::attribute::Attribute;

/// `#[A(args)] item`, expanded and printed.
fn expanded<A: Attribute + Keys + 'static>(args: &str, item: &str) -> String {
    let tokens = crate::expand::attribute::<A>(args.parse().unwrap(), item.parse().unwrap());
    let file: syn::File = syn::parse2(tokens).expect("the expansion parses as a Rust file");
    prettyplease::unparse(&file)
}

fn check<A: Attribute + Keys + 'static>(name: &str, args: &str, item: &str) {
    let written = format!("#[{}({args})]\n{}", A::ATTRIBUTE, item.trim());
    insta::with_settings!({
        snapshot_path => "../tests/expanded",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => written,
    }, {
        insta::assert_snapshot!(name, expanded::<A>(args, item));
    });
}

const SYNC_FN: &str = "
fn load_profile(user_id: u64) -> Result<Profile, Error> {
    fetch(user_id)
}";

const ASYNC_METHOD: &str = "
async fn load_profile(&self, user_id: u64) -> Result<Profile, Error> {
    self.client.fetch(user_id).await
}";

const GENERIC_FN: &str = "
fn parse_setting<T: FromStr>(text: &str) -> Result<T, T::Err> {
    text.trim().parse()
}";

const GENERIC_ASYNC_FN: &str = "
async fn parse_setting<T: FromStr>(text: &str) -> Result<T, T::Err> {
    text.trim().parse()
}";

#[test]
fn retry() {
    check::<RetryArgs>("retry_sync_fn", "max = 3", SYNC_FN);
    check::<RetryArgs>("retry_async_method", "max = 3", ASYNC_METHOD);
    check::<RetryArgs>("retry_generic_fn", "max = 3", GENERIC_FN);
}

#[test]
fn breaker() {
    check::<BreakerArgs>("breaker_sync_fn", "name = \"profiles\"", SYNC_FN);
    check::<BreakerArgs>("breaker_async_method", "name = \"profiles\"", ASYNC_METHOD);
    check::<BreakerArgs>("breaker_generic_fn", "name = \"settings\"", GENERIC_FN);
    check::<BreakerArgs>(
        "breaker_shared_quorum",
        "name = \"payments\", shared = true, quorum = 3",
        SYNC_FN,
    );
}

#[test]
fn fallback() {
    check::<FallbackArgs>("fallback_sync_fn", "fn = cached_profile", SYNC_FN);
    check::<FallbackArgs>(
        "fallback_async_method",
        "fn = Self::cached_profile",
        ASYNC_METHOD,
    );
    check::<FallbackArgs>("fallback_generic_fn", "fn = default_setting", GENERIC_FN);
}

#[test]
fn stale_cache() {
    check::<StaleCacheArgs>("stale_cache_sync_fn", "maxage = 10", SYNC_FN);
    check::<StaleCacheArgs>(
        "stale_cache_async_method",
        "maxage = 10, key = user_id",
        ASYNC_METHOD,
    );
    // Rejected: the snapshot is the error the user sees.
    check::<StaleCacheArgs>("stale_cache_generic_fn", "maxage = 10", GENERIC_FN);
}

#[test]
fn timeout() {
    check::<TimeoutArgs>("timeout_async_method", "after = 2", ASYNC_METHOD);
    check::<TimeoutArgs>("timeout_generic_fn", "after = 2", GENERIC_ASYNC_FN);
    // Rejected: a blocking call cannot be cut off.
    check::<TimeoutArgs>("timeout_sync_fn", "after = 2", SYNC_FN);
}

#[test]
fn the_full_stack() {
    check::<FallbackArgs>(
        "full_stack",
        "fn = Self::cached_profile",
        "
#[stale_cache(maxage = 10, key = user_id, retries = 0)]
#[breaker(name = \"profiles\")]
#[retry(max = 3)]
#[timeout(after = 2)]
async fn load_profile(&self, user_id: u64) -> Result<Profile, Error> {
    self.client.fetch(user_id).await
}",
    );
}
