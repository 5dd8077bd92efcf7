//! The Grafana dashboard (`dashboards/resilience.json`) and the runtime's
//! metrics cannot drift apart: every metric a query names is one the
//! runtime registers, and every metric it registers has a panel (issue 27).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every metric the runtime defines: the name of each `CounterDef::new` and
/// `GaugeDef::new` in its sources (the one way it registers a metric).
fn registered() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut pending = vec![root().join("resilience-runtime/src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (at, _) in text.match_indices("Def::new(") {
                    let rest = &text[at..];
                    let name = rest.split('"').nth(1).expect("a name after Def::new(");
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

/// Each query of the dashboard.
fn queries() -> Vec<String> {
    let path = root().join("dashboards/resilience.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().expect("a PromQL expr").to_owned())
        .collect()
}

/// The metrics a query names: the identifiers right before `{` or `[`
/// (the dashboard writes every selector so, `breakers_state{}` included).
fn named(query: &str) -> Vec<String> {
    let mut names = Vec::new();
    let bytes = query.as_bytes();
    for (at, &byte) in bytes.iter().enumerate() {
        if byte != b'{' && byte != b'[' {
            continue;
        }
        let start = bytes[..at]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(0, |p| p + 1);
        if start < at {
            names.push(query[start..at].to_owned());
        }
    }
    names
}

#[test]
fn every_query_names_a_registered_metric_and_every_metric_has_a_panel() {
    let registered = registered();
    assert!(
        registered.len() >= 10,
        "read the runtime's metrics: {registered:?}"
    );
    let mut shown = BTreeSet::new();
    for query in queries() {
        let names = named(&query);
        assert!(
            !names.is_empty(),
            "`{query}` names no metric as `name{{..}}` or `name[..]`"
        );
        for name in names {
            assert!(
                registered.contains(&name),
                "`{query}` names `{name}`, which resilience-runtime does not register"
            );
            shown.insert(name);
        }
    }
    let missing: Vec<_> = registered.difference(&shown).collect();
    assert!(missing.is_empty(), "metrics without a panel: {missing:?}");
}
