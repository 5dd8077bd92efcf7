//! `--format json`: one object per decorated function.

use serde_json::{Value, json};

use super::libraries;
use crate::Report;

pub(super) fn render(report: &Report) -> String {
    let functions: Vec<Value> = report
        .functions
        .iter()
        .map(|m| {
            json!({
                "file": m.file.display().to_string(),
                "line": m.line,
                "function": m.function,
                "library": libraries(m),
                "python": m.python.join("\n"),
                "rust": m.rust,
                "notes": m.notes,
                "status": m.status.name(),
            })
        })
        .collect();
    let syntax_errors: Vec<Value> = report
        .syntax_errors
        .iter()
        .map(|(path, e)| json!({ "file": path.display().to_string(), "line": e.line, "column": e.column }))
        .collect();
    let unreadable: Vec<Value> = report
        .unreadable
        .iter()
        .map(|(path, e)| json!({ "file": path.display().to_string(), "error": e }))
        .collect();
    let s = report.summary();
    let document = json!({
        "functions": functions,
        "syntax_errors": syntax_errors,
        "unreadable": unreadable,
        "summary": {
            "files": report.files,
            "functions": s.found,
            "mapped": s.mapped,
            "mapped_with_notes": s.with_notes,
            "not_mapped": s.not_mapped,
            "no_attribute_needed": s.no_attribute_needed,
        },
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
