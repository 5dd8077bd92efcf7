//! `resilience-migrate` reading a 100 000-line Python tree: the test
//! fixtures (every decorator form, a file with a syntax error) copied into
//! 100 packages, each padded with ordinary service code to 1 000 lines.
//!
//! ```text
//! cargo bench -p resilience-benches --bench migrate
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};

const PACKAGES: usize = 100;
const LINES_PER_PACKAGE: usize = 1_000;

/// The fixture tree's files, by path under the package.
const FIXTURES: &[(&str, &str)] = &[
    (
        "aliases.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/aliases.py"),
    ),
    (
        "broken.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/broken.py"),
    ),
    (
        "caches.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/caches.py"),
    ),
    (
        "classes.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/classes.py"),
    ),
    (
        "payments.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/payments.py"),
    ),
    (
        "stale.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/stale.py"),
    ),
    (
        "stamina_forms.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/stamina_forms.py"),
    ),
    (
        "tenacity_forms.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/tenacity_forms.py"),
    ),
    (
        "breakers/__init__.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/breakers/__init__.py"),
    ),
    (
        "breakers/objects.py",
        include_str!("../resilience-migrate/tests/fixtures/tree/app/breakers/objects.py"),
    ),
];

/// Ordinary code, as most of a service is: classes, loops, comprehensions,
/// `try`, f-strings, and a decorator that is not a resilience one.
fn handler(n: usize) -> String {
    format!(
        r#"
class Handler{n}:
    """Turns upstream items into rows."""

    def __init__(self, client, cache=None):
        self.client = client
        self.cache = cache or {{}}

    @property
    def name(self):
        return f"handler-{n}"

    def process(self, items):
        results = []
        for item in items:
            if item.get("kind") == "a":
                results.append({{"id": item["id"], "value": item["value"] * 2}})
            elif item.get("kind") == "b":
                results.extend(x for x in item["values"] if x > 0)
            else:
                try:
                    results.append(self.client.fetch(item["id"], timeout=3.5))
                except (KeyError, ValueError) as e:
                    log.warning("skipped %s: %s", item, e)
        return sorted(results, key=lambda r: r["id"] if isinstance(r, dict) else r)
"#
    )
}

/// Writes the tree; returns its root and its number of lines.
fn write_tree() -> (PathBuf, usize) {
    let root =
        std::env::temp_dir().join(format!("resilience-migrate-bench-{}", std::process::id()));
    let mut lines = 0;
    for package in 0..PACKAGES {
        let dir = root.join(format!("app{package}"));
        std::fs::create_dir_all(dir.join("breakers")).expect("create the bench tree");
        let mut package_lines = 0;
        for (path, source) in FIXTURES {
            std::fs::write(dir.join(path), source).expect("write a fixture");
            package_lines += source.lines().count();
        }
        let mut service = String::from("import logging\n\nlog = logging.getLogger(__name__)\n");
        let mut n = 0;
        while package_lines + service.lines().count() < LINES_PER_PACKAGE {
            let _ = write!(service, "{}", handler(n));
            n += 1;
        }
        package_lines += service.lines().count();
        std::fs::write(dir.join("service.py"), service).expect("write the padding");
        lines += package_lines;
    }
    (root, lines)
}

fn scan(c: &mut Criterion) {
    let (root, lines) = write_tree();
    let report =
        resilience_migrate::scan(std::slice::from_ref(&root)).expect("scan the bench tree");
    assert_eq!(report.files, PACKAGES * (FIXTURES.len() + 1));
    let mut group = c.benchmark_group("migrate");
    group.sample_size(10);
    group.bench_function(
        format!("scan {lines} lines in {} files", report.files),
        |b| b.iter(|| resilience_migrate::scan(std::slice::from_ref(&root)).expect("scan")),
    );
    group.finish();
    remove(&root);
}

fn remove(root: &Path) {
    // A leftover temporary tree is harmless; say so rather than fail.
    if let Err(e) = std::fs::remove_dir_all(root) {
        eprintln!("could not remove {}: {e}", root.display());
    }
}

criterion_group!(benches, scan);
criterion_main!(benches);
