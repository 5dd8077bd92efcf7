//! The default output: grouped by file, one block per function.

use std::fmt::Write as _;

use super::{libraries, summary_line};
use crate::Report;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let mut file = None;
    for m in &report.functions {
        if file != Some(&m.file) {
            if file.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", m.file.display());
            file = Some(&m.file);
        }
        let _ = writeln!(out, "  {:>5}  {}  [{}]", m.line, m.function, libraries(m));
        block(&mut out, "python", &m.python);
        block(&mut out, "rust", &m.rust);
        block(&mut out, "note", &m.notes);
    }
    if !report.syntax_errors.is_empty() || !report.unreadable.is_empty() {
        out.push_str("\nnot read in full (the rest of each file was read):\n");
        for (path, e) in &report.syntax_errors {
            let _ = writeln!(
                out,
                "  {}:{}:{}: syntax error",
                path.display(),
                e.line,
                e.column
            );
        }
        for (path, e) in &report.unreadable {
            let _ = writeln!(out, "  {}: cannot read: {e}", path.display());
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(report));
    out
}

fn block(out: &mut String, label: &str, lines: &[String]) {
    for (i, line) in lines.iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        let _ = writeln!(out, "         {label:<7} {line}");
    }
}
