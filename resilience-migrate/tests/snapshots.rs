//! The three outputs for the fixture tree, pinned. Review a change with
//! `cargo insta review`, or rerun with `INSTA_UPDATE=always` and read the
//! diff of `tests/snapshots/` before committing it.

use std::path::PathBuf;

use resilience_migrate::render::{Format, render};
use resilience_migrate::{Report, Status, scan};

fn fixture_tree() -> Report {
    // Relative, so that the snapshots do not hold this machine's paths.
    scan(&[PathBuf::from("tests/fixtures/tree")]).expect("the fixture tree exists")
}

#[test]
fn table() {
    insta::assert_snapshot!(render(&fixture_tree(), Format::Table));
}

#[test]
fn json() {
    insta::assert_snapshot!(render(&fixture_tree(), Format::Json));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(render(&fixture_tree(), Format::Markdown));
}

fn find<'r>(report: &'r Report, function: &str) -> &'r resilience_migrate::Migration {
    report
        .functions
        .iter()
        .find(|m| m.function == function)
        .unwrap_or_else(|| panic!("`{function}` not reported"))
}

#[test]
fn a_syntax_error_is_reported_and_the_rest_of_the_file_read() {
    let report = fixture_tree();
    let broken: Vec<_> = report
        .syntax_errors
        .iter()
        .map(|(path, e)| (path.file_name().unwrap().to_owned(), e.line))
        .collect();
    assert_eq!(broken, [("broken.py".into(), 9)]);
    // Before and after the broken definition.
    assert_eq!(
        find(&report, "before_the_error").rust,
        ["#[retry(max = 2, backoff = \"none\")]"]
    );
    assert_eq!(
        find(&report, "after_the_error").rust,
        ["#[retry(max = 7, backoff = \"none\")]"]
    );
}

#[test]
fn gitignored_files_are_not_read() {
    let report = fixture_tree();
    assert!(report.functions.iter().all(|m| m.function != "never_read"));
    assert!(report.files >= 9);
}

#[test]
fn python_stacking_order_becomes_the_documented_rust_order() {
    let report = fixture_tree();
    let retried = find(&report, "retried_outside_the_breaker");
    // Python: @retry above @breaker. Rust: #[breaker] above #[retry], and a note.
    assert!(retried.python[0].starts_with("@retry"));
    assert!(retried.rust[0].starts_with("#[breaker"));
    assert!(retried.rust[1].starts_with("#[retry"));
    assert!(
        retried
            .notes
            .iter()
            .any(|n| n.contains("Python stacks `@retry` outside")),
        "{:?}",
        retried.notes
    );
    // Already in the documented order: no such note.
    let charge = find(&report, "charge");
    assert!(!charge.notes.iter().any(|n| n.contains("Python stacks")));
}

#[test]
fn a_local_function_named_retry_is_not_tenacity() {
    let report = fixture_tree();
    assert!(
        report
            .functions
            .iter()
            .all(|m| m.function != "not_tenacity")
    );
}

#[test]
fn methods_and_nested_classes_are_named_with_their_classes() {
    let report = fixture_tree();
    assert_eq!(
        find(&report, "SearchClient.Admin.reindex").status,
        Status::MappedWithNotes
    );
    assert_eq!(find(&report, "SearchClient.query").status, Status::Mapped);
    assert_eq!(
        find(&report, "parse_currency").status,
        Status::NoAttributeNeeded
    );
    assert_eq!(find(&report, "unreadable").status, Status::NotMapped);
}

#[test]
fn a_decorator_built_by_a_factory_of_the_tree_is_read_from_what_it_returns() {
    let report = fixture_tree();
    for function in ["completion_with_retry._completion", "called_factory"] {
        let m = find(&report, function);
        assert_eq!(
            m.rust,
            [
                "#[retry(backoff = \"exp\", delay = 4, max_delay = 10, jitter = \"none\", when = is_timeout_error)]"
            ],
            "{function}"
        );
        assert!(
            m.notes[0].starts_with("built at run time by"),
            "{:?}",
            m.notes
        );
        assert!(
            m.notes
                .iter()
                .any(|n| n.contains("`max_retries` is computed at run time"))
        );
    }
    assert!(
        report
            .functions
            .iter()
            .all(|m| m.function != "not_a_resilience_decorator")
    );
}

#[test]
fn a_file_in_another_encoding_is_still_read() {
    let report = fixture_tree();
    assert_eq!(
        find(&report, "prix").rust,
        ["#[retry(max = 2, backoff = \"none\")]"]
    );
    assert!(report.unreadable.is_empty());
}

/// aiobreaker, pybreaker's asyncio fork (issue 26): found, as an object
/// and in the decorator, `fail_max` as failures in a row and its
/// `timeout_duration` (a `timedelta`) as `open_for`, with no note to read.
#[test]
fn aiobreaker_maps_as_pybreaker_does() {
    let report = fixture_tree();
    let reserve = find(&report, "reserve_stock");
    assert_eq!(
        reserve.rust,
        ["#[breaker(name = \"inventory\", consecutive = 3, open_for = 45)]"]
    );
    assert_eq!(reserve.libraries, [resilience_migrate::Library::Aiobreaker]);
    assert_eq!(reserve.status, Status::Mapped, "{:?}", reserve.notes);
    let price = find(&report, "price_of");
    assert_eq!(
        price.rust,
        ["#[breaker(name = \"pricing\", consecutive = 2)]"]
    );
}
