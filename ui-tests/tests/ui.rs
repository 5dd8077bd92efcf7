//! Every misuse is a compile error with a committed `.stderr`; every
//! supported signature compiles without a warning.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p
//! resilience-ui-tests` (and again with `--features redis`), then read the
//! diff before committing it. `--features chaos` builds every signature
//! form again with the runtime's chaos points compiled in.

/// The cases of the runtime as the workspace builds it: without `redis`,
/// where `shared = true` is an error that says to enable it.
#[cfg(not(any(feature = "redis", feature = "chaos")))]
#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}

/// The shared cases, with the runtime's `redis` feature (CI runs both).
#[cfg(feature = "redis")]
#[test]
fn ui_redis() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass-redis/*.rs");
    cases.compile_fail("fail-redis/*.rs");
}

/// Every signature form, with the runtime's `chaos` points compiled in:
/// still no error and no warning (the misuses' errors are those above).
#[cfg(all(feature = "chaos", not(feature = "redis")))]
#[test]
fn ui_chaos() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
}
