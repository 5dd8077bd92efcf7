//! Reads a Python codebase and prints, for every `tenacity`, `stamina`,
//! `pybreaker`, `aiobreaker` and stale-cache decorator, the `resilience` attributes that
//! `MIGRATING.md` maps it to, with notes for what does not map one to one.
//!
//! The command line is the usual way in:
//!
//! ```text
//! cargo run -p resilience-migrate -- path/to/service
//! cargo run -p resilience-migrate -- --format markdown src/ > MIGRATION.md
//! ```
//!
//! The library gives the same report to a program:
//!
//! ```
//! let dir = std::env::temp_dir().join("resilience-migrate-doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(
//!     dir.join("client.py"),
//!     "from tenacity import retry, stop_after_attempt, wait_fixed\n\
//!      \n\
//!      @retry(stop=stop_after_attempt(3), wait=wait_fixed(2))\n\
//!      def fetch():\n    ...\n",
//! )
//! .unwrap();
//!
//! let report = resilience_migrate::scan(&[dir]).unwrap();
//! let fetch = &report.functions[0];
//! assert_eq!(fetch.function, "fetch");
//! assert_eq!(
//!     fetch.rust,
//!     ["#[retry(max = 3, backoff = \"fixed\", delay = 2, jitter = \"none\")]"]
//! );
//! ```
#![warn(missing_docs)]

mod mapping;
mod python;
mod read;
pub mod render;
mod rust;
mod walk;

use std::io;
use std::path::{Path, PathBuf};

pub use mapping::{Library, Migration, Status, handled};
pub use python::module::SyntaxError;

/// What a scan found.
#[derive(Debug, Default)]
pub struct Report {
    /// Every function with a decorator the tool knows, by file then line.
    pub functions: Vec<Migration>,
    /// Files the parser could not read in full: the rest of each was read.
    pub syntax_errors: Vec<(PathBuf, SyntaxError)>,
    /// Files that could not be read at all (permissions, I/O errors).
    pub unreadable: Vec<(PathBuf, String)>,
    /// How many Python files were read.
    pub files: usize,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Functions with a decorator the tool knows.
    pub found: usize,
    /// Of those, mapped one to one.
    pub mapped: usize,
    /// Mapped, with notes to read.
    pub with_notes: usize,
    /// Nothing printed.
    pub not_mapped: usize,
    /// Only a memo cache, which needs no attribute.
    pub no_attribute_needed: usize,
}

impl Report {
    /// The summary counts.
    pub fn summary(&self) -> Summary {
        let count = |status| self.functions.iter().filter(|m| m.status == status).count();
        Summary {
            found: self.functions.len(),
            mapped: count(Status::Mapped),
            with_notes: count(Status::MappedWithNotes),
            not_mapped: count(Status::NotMapped),
            no_attribute_needed: count(Status::NoAttributeNeeded),
        }
    }
}

/// Scans files and folders (`.py` files, honouring `.gitignore`). Fails
/// only when a path given does not exist; a file that cannot be read or
/// parsed is reported and the scan goes on.
pub fn scan(paths: &[PathBuf]) -> io::Result<Report> {
    for path in paths {
        if !path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: no such file or folder", path.display()),
            ));
        }
    }
    let mut report = Report::default();
    let mut modules = Vec::new();
    for result in read::parse_all(walk::python_files(paths)) {
        match result {
            Ok(module) => modules.push(module),
            Err(unreadable) => report.unreadable.push(unreadable),
        }
    }
    report.files = modules.len();
    Ok(analyse(modules, report))
}

/// Maps sources already in memory, named by their paths (for tests and
/// tools that do not read from disk).
pub fn scan_sources<'a>(sources: impl IntoIterator<Item = (&'a Path, &'a str)>) -> Report {
    let mut parser = python::module::parser();
    let modules: Vec<_> = sources
        .into_iter()
        .map(|(path, source)| python::module::parse(path.to_path_buf(), source, &mut parser))
        .collect();
    let report = Report {
        files: modules.len(),
        ..Report::default()
    };
    analyse(modules, report)
}

fn analyse(modules: Vec<python::module::Module>, mut report: Report) -> Report {
    let tree = python::resolve::Tree::new(modules);
    for (index, module) in tree.modules.iter().enumerate() {
        if let Some(error) = &module.syntax_error {
            report
                .syntax_errors
                .push((module.path.clone(), error.clone()));
        }
        for function in &module.functions {
            report
                .functions
                .extend(mapping::function(&tree, index, function));
        }
    }
    report
        .functions
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    report.syntax_errors.sort_by(|a, b| a.0.cmp(&b.0));
    report
}
