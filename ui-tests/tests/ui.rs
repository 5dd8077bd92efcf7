//! Every misuse is a compile error with a committed `.stderr`; every
//! supported signature compiles without a warning.
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p
//! resilience-ui-tests`, then read the diff before committing it.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("pass/*.rs");
    cases.compile_fail("fail/*.rs");
}
