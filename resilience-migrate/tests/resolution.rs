//! How names are resolved across a tree, on sources held in memory.

use std::path::Path;

use resilience_migrate::scan_sources;

fn functions(files: &[(&str, &str)]) -> Vec<(String, Vec<String>)> {
    let report = scan_sources(files.iter().map(|(p, s)| (Path::new(*p), *s)));
    report
        .functions
        .into_iter()
        .map(|m| (m.function, m.rust))
        .collect()
}

#[test]
fn a_library_module_in_the_tree_does_not_hide_the_library() {
    // Scanning the standard library or a vendored copy puts `functools.py`
    // or `tenacity/__init__.py` in the tree; their names still mean the library.
    let found = functions(&[
        ("lib/functools.py", "def lru_cache(maxsize=128):\n    ...\n"),
        ("lib/tenacity/__init__.py", "def retry(*a, **k):\n    ...\n"),
        (
            "lib/user.py",
            "from functools import lru_cache\nfrom tenacity import retry, stop_after_attempt\n\n\
             @lru_cache\ndef memo():\n    ...\n\n\
             @retry(stop=stop_after_attempt(2), wait=None)\ndef fetch():\n    ...\n",
        ),
    ]);
    let names: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, ["memo", "fetch"]);
}

#[test]
fn star_imports_and_reexports_are_followed() {
    let found = functions(&[
        ("pkg/__init__.py", "from .policies import *\n"),
        (
            "pkg/policies.py",
            "from tenacity import *\n\npatient = retry(stop=stop_after_attempt(4), wait=wait_fixed(1))\n",
        ),
        (
            "pkg/client.py",
            "from pkg import patient\n\n@patient\ndef call():\n    ...\n",
        ),
    ]);
    assert_eq!(
        found,
        [(
            "call".to_owned(),
            vec!["#[retry(max = 4, backoff = \"fixed\", delay = 1, jitter = \"none\")]".to_owned()]
        )]
    );
}

#[test]
fn an_import_cycle_ends() {
    let found = functions(&[
        ("a.py", "from b import thing\n\n@thing\ndef f():\n    ...\n"),
        ("b.py", "from a import thing\n"),
    ]);
    assert!(found.is_empty());
}

/// tenacity's `stop_after_delay` alone becomes a budget with no `max`, so
/// that the budget alone decides, as in tenacity (the behaviour test
/// `retry_budget::a_budget_without_max_alone_decides_as_tenacity_does`
/// runs this very attribute and counts tenacity's 11 attempts).
#[test]
fn a_delay_alone_stops_by_the_budget_alone() {
    let found = functions(&[(
        "app.py",
        "from tenacity import retry, stop_after_delay, wait_fixed\n\
         @retry(stop=stop_after_delay(10), wait=wait_fixed(1))\n\
         def fetch():\n    pass\n",
    )]);
    assert_eq!(
        found,
        [(
            "fetch".to_owned(),
            vec![
                "#[retry(backoff = \"fixed\", delay = 1, jitter = \"none\", max_elapsed = 10)]"
                    .to_owned()
            ]
        )]
    );
}
