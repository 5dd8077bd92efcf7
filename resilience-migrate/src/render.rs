//! The three output formats: a table to read, JSON for programs, and a
//! Markdown checklist to work through.

mod json;
mod markdown;
mod table;

use crate::Report;

/// How the report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Grouped by file, one block per function, counts at the end.
    Table,
    /// One object per function, with `file`, `line`, `function`, `library`,
    /// `python`, `rust`, `notes` and `status`.
    Json,
    /// A checklist: one box per function, grouped by file.
    Markdown,
}

impl Format {
    /// `table`, `json` or `markdown`.
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// The report in `format`, ending with a newline.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table::render(report),
        Format::Json => json::render(report),
        Format::Markdown => markdown::render(report),
    }
}

/// `12 functions in 40 files: 5 mapped fully, ...`
fn summary_line(report: &Report) -> String {
    let s = report.summary();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{} in {}: {} mapped fully, {} mapped with notes, {} not mapped, {} need no attribute",
        plural(s.found, "function", "functions"),
        plural(report.files, "file", "files"),
        s.mapped,
        s.with_notes,
        s.not_mapped,
        s.no_attribute_needed
    )
}

/// The libraries of a function, as one string: `tenacity, pybreaker`.
fn libraries(migration: &crate::Migration) -> String {
    migration
        .libraries
        .iter()
        .map(|l| l.name())
        .collect::<Vec<_>>()
        .join(", ")
}
