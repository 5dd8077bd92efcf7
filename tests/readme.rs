//! The README's set-up, as written: the dependency lines of its "Using it"
//! section are those of `readme-service/`, a service crate that exercises
//! every function shape the README promises, and that crate builds, runs and
//! passes its paused-clock tests with those lines alone.

use std::path::{Path, PathBuf};
use std::process::Command;

const README: &str = include_str!("../README.md");
const SERVICE_MANIFEST: &str = include_str!("readme-service/Cargo.toml");

/// The "## Using it" section.
fn using_it() -> &'static str {
    let start = README
        .find("## Using it")
        .expect("the README has a `## Using it` section");
    let rest = &README[start + 2..];
    let end = rest
        .find("\n## ")
        .map_or(README.len(), |end| start + 2 + end);
    &README[start..end]
}

/// The text of every ```toml block of `markdown`.
fn toml_blocks(markdown: &str) -> String {
    let mut blocks = String::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```toml\n") {
        let block = &rest[start + "```toml\n".len()..];
        let end = block.find("```").expect("a closed ```toml block");
        blocks.push_str(&block[..end]);
        rest = &block[end..];
    }
    blocks
}

/// The entries of the `[section]` tables of `toml`, in order, comments and
/// blank lines left out, and the value of a `path = ".."` (which differs
/// between the README and the crate here) as `..`.
fn entries(toml: &str, section: &str) -> Vec<String> {
    let header = format!("[{section}]");
    let mut inside = false;
    let mut lines = Vec::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            lines.push(without_path(line));
        }
    }
    lines
}

fn without_path(line: &str) -> String {
    match line.find("path = \"") {
        Some(start) => {
            let value = start + "path = \"".len();
            let end = value + line[value..].find('"').expect("a closed path string");
            format!("{}..{}", &line[..value], &line[end..])
        }
        None => line.to_string(),
    }
}

#[test]
fn the_readme_dependency_lines_are_the_service_crates() {
    let readme = toml_blocks(using_it());
    for section in ["dependencies", "dev-dependencies"] {
        let written = entries(&readme, section);
        assert!(!written.is_empty(), "the README gives `[{section}]`");
        assert_eq!(
            written,
            entries(SERVICE_MANIFEST, section),
            "`[{section}]` of the README and of tests/readme-service/Cargo.toml differ: change both"
        );
    }
    assert!(
        readme.contains("resilience-runtime = { path = \""),
        "the README shows the path form that works before publishing"
    );
    let version = env!("CARGO_PKG_VERSION");
    let published = version.rsplit_once('.').map_or(version, |(minor, _)| minor);
    assert!(
        readme.contains(&format!("# resilience-runtime = \"{published}\"")),
        "the README shows the form that works once {version} is published"
    );
}

#[test]
fn the_line_check_sees_a_missing_feature() {
    let readme = "[dependencies]\ntokio = { version = \"1\", features = [\"macros\"] }\n";
    let manifest = "[dependencies]\ntokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }\n[dev-dependencies]\n";
    assert_ne!(
        entries(readme, "dependencies"),
        entries(manifest, "dependencies")
    );
    assert_eq!(
        entries("[dependencies]\nx = { path = \"../a\" }\n", "dependencies"),
        entries(
            "[dependencies]\nx = { path = \"../../b\" }\n",
            "dependencies"
        ),
        "only the path may differ"
    );
}

fn cargo(service: &Path, target: &Path, args: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(args)
        .arg("--offline")
        .current_dir(service)
        .env("CARGO_TARGET_DIR", target)
        // Generated code must not warn in a user's crate either.
        .env("RUSTFLAGS", "-D warnings")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`cargo {}` in tests/readme-service failed:\n{stdout}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `cargo run` builds with `[dependencies]` only (`#[tokio::main]` needs
/// `rt-multi-thread`); `cargo test` adds `[dev-dependencies]`
/// (`start_paused` needs `test-util`). Offline, from the workspace's lock
/// file: the same versions as the workspace, nothing to fetch.
#[test]
fn the_service_crate_builds_runs_and_passes_its_tests_from_those_lines() {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let service = manifest_dir.join("readme-service");
    let workspace_lock = manifest_dir.join("../Cargo.lock");
    std::fs::copy(&workspace_lock, service.join("Cargo.lock")).expect("copy the lock file");
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-service");

    let run = cargo(&service, &target, &["run", "--quiet"]);
    assert!(run.contains("every shape answered"), "{run}");
    let test = cargo(&service, &target, &["test", "--quiet"]);
    assert!(test.contains("2 passed"), "{test}");
}
