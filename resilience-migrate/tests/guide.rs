//! The tool and `MIGRATING.md` agree: every parameter the guide's tables
//! name is one the tool reads, and its output for the guide's own Python
//! examples is the Rust the guide shows.

use std::path::Path;

use resilience_migrate::{Library, handled, scan_sources};

fn guide() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../MIGRATING.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The library a `## ...` heading of the guide is about.
fn library_of(heading: &str) -> Option<Library> {
    let heading = heading.to_lowercase();
    [
        ("tenacity", Library::Tenacity),
        ("pybreaker", Library::Pybreaker),
        ("stamina", Library::Stamina),
        ("stale-cache", Library::StaleCache),
    ]
    .into_iter()
    .find(|(name, _)| heading.contains(name))
    .map(|(_, library)| library)
}

/// The sections of the guide, by library.
fn sections(guide: &str) -> Vec<(Library, String)> {
    let mut found = Vec::new();
    for section in guide.split("\n## ").skip(1) {
        let heading = section.lines().next().unwrap_or_default();
        if let Some(library) = library_of(heading) {
            found.push((library, section.to_owned()));
        }
    }
    found
}

/// The names in a table's first column that a parameter is written with:
/// every identifier followed by `(` or `=` in its code spans
/// (`wait=wait_exponential(multiplier=1, ...)` names `wait`,
/// `wait_exponential` and `multiplier`).
fn parameters_named(section: &str) -> Vec<String> {
    let mut names = Vec::new();
    let rows = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
        .skip(1); // the header
    for row in rows {
        let first = row.split(" | ").next().unwrap_or_default();
        for (i, span) in first.split('`').enumerate() {
            if i % 2 == 0 {
                continue; // outside backticks
            }
            let chars: Vec<char> = span.chars().collect();
            let mut at = 0;
            while at < chars.len() {
                if chars[at].is_alphabetic() || chars[at] == '_' {
                    let start = at;
                    while at < chars.len() && (chars[at].is_alphanumeric() || chars[at] == '_') {
                        at += 1;
                    }
                    let next = chars.get(at).copied();
                    if matches!(next, Some('(' | '=')) && chars.get(at + 1) != Some(&'=') {
                        names.push(chars[start..at].iter().collect());
                    }
                } else {
                    at += 1;
                }
            }
        }
    }
    names
}

#[test]
fn every_parameter_of_the_guides_tables_is_read_by_the_tool() {
    let guide = guide();
    let sections = sections(&guide);
    assert_eq!(
        sections.len(),
        4,
        "the guide has a section per library: tenacity, pybreaker, stamina, the stale-cache decorator"
    );
    for (library, section) in sections {
        let named = parameters_named(&section);
        // The guide's tables name many parameters: an empty list would mean
        // this test no longer reads them.
        assert!(
            named.len() >= 4,
            "{library:?}: only {named:?} found in the guide's table"
        );
        let known = handled(library);
        let missing: Vec<&String> = named
            .iter()
            .filter(|n| !known.contains(&n.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "{library:?}: MIGRATING.md names {missing:?}, which resilience-migrate does not read"
        );
    }
}

/// The fenced blocks of a section, as (language, text), in order.
fn blocks(section: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in section.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            match current.take() {
                Some(block) => found.push(block),
                None => current = Some((fence.trim().to_owned(), String::new())),
            }
        } else if let Some((_, text)) = &mut current {
            text.push_str(line);
            text.push('\n');
        }
    }
    found
}

/// The attributes of a Rust example, each on one line.
fn attributes(rust: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current = String::new();
    for line in rust.lines().map(str::trim) {
        if line.starts_with("#[") || !current.is_empty() {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(line);
            if current.ends_with(")]") || current.ends_with(']') && !current.contains('(') {
                found.push(std::mem::take(&mut current));
            }
        }
    }
    found
}

#[test]
fn the_guides_python_examples_become_the_guides_rust() {
    let guide = guide();
    let mut checked = 0;
    for (library, section) in sections(&guide) {
        let blocks = blocks(&section);
        for pair in blocks.windows(2) {
            let [(first, python), (second, rust)] = pair else {
                continue;
            };
            if first != "python" || second != "rust" {
                continue;
            }
            let path = Path::new("guide_example.py");
            let report = scan_sources([(path, python.as_str())]);
            let [function] = report.functions.as_slice() else {
                panic!(
                    "{library:?}: the guide's example should hold one decorated function, found {:?}",
                    report.functions
                );
            };
            assert_eq!(
                function.rust,
                attributes(rust),
                "{library:?}: the tool's output for the guide's example differs from the guide"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "one example per library");
}
