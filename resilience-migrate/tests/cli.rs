//! The command line: formats, exit codes, and errors that say what to do.

use std::process::{Command, Output};

fn migrate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resilience-migrate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_finished_scan_exits_zero_even_with_unmapped_decorators_and_broken_files() {
    let output = migrate(&["tests/fixtures/tree"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("1 not mapped"), "{text}");
    assert!(text.contains("broken.py:9:12: syntax error"), "{text}");
}

#[test]
fn json_is_one_object_per_function() {
    let output = migrate(&["--format", "json", "tests/fixtures/tree/app/classes.py"]);
    assert!(output.status.success());
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("valid JSON");
    let functions = document["functions"]
        .as_array()
        .expect("a list of functions");
    assert_eq!(functions.len(), 5);
    let query = &functions[0];
    assert_eq!(query["function"], "SearchClient.query");
    assert_eq!(query["line"], 9);
    assert_eq!(query["library"], "tenacity");
    assert_eq!(
        query["rust"][0],
        "#[retry(max = 3, backoff = \"fixed\", delay = 1, jitter = \"none\")]"
    );
    assert!(query["notes"].as_array().is_some_and(Vec::is_empty));
}

#[test]
fn markdown_is_a_checklist() {
    let output = migrate(&["-f", "markdown", "tests/fixtures/tree/app/classes.py"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.starts_with("# Migration checklist"), "{text}");
    assert_eq!(text.matches("- [ ] ").count(), 5, "{text}");
}

#[test]
fn bad_usage_exits_two_and_says_what_to_do() {
    for (args, says) in [
        (&[][..], "name at least one Python file or folder"),
        (
            &["--format", "yaml", "."][..],
            "unknown format `yaml`: choose table, json or markdown",
        ),
        (&["--colour", "."][..], "--colour"),
        (&["no/such/dir"][..], "no/such/dir: no such file or folder"),
    ] {
        let output = migrate(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty());
    }
}

#[test]
fn help_exits_zero() {
    let output = migrate(&["--help"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("Usage: resilience-migrate"));
}
