//! `--format markdown`: a migration checklist, one box per function.

use std::fmt::Write as _;

use super::{libraries, summary_line};
use crate::Report;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::from("# Migration checklist\n\n");
    let _ = writeln!(out, "{}.\n", summary_line(report));
    let mut file = None;
    for m in &report.functions {
        if file != Some(&m.file) {
            let _ = writeln!(out, "## `{}`\n", m.file.display());
            file = Some(&m.file);
        }
        let _ = writeln!(
            out,
            "- [ ] `{}` (line {}, {})",
            m.function,
            m.line,
            libraries(m)
        );
        fence(&mut out, "python", &m.python);
        if m.rust.is_empty() {
            out.push_str("  No attribute printed.\n");
        } else {
            fence(&mut out, "rust", &m.rust);
        }
        for note in &m.notes {
            let _ = writeln!(out, "  - {note}");
        }
        out.push('\n');
    }
    if !report.syntax_errors.is_empty() || !report.unreadable.is_empty() {
        out.push_str("## Not read in full\n\n");
        for (path, e) in &report.syntax_errors {
            let _ = writeln!(
                out,
                "- `{}` line {}, column {}: syntax error (the rest of the file was read)",
                path.display(),
                e.line,
                e.column
            );
        }
        for (path, e) in &report.unreadable {
            let _ = writeln!(out, "- `{}`: cannot read: {e}", path.display());
        }
    }
    out
}

fn fence(out: &mut String, language: &str, lines: &[String]) {
    let _ = writeln!(out, "  ```{language}");
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("  ```\n");
}
