//! The Python files under the paths given, as git would see them: files
//! and folders named in `.gitignore` (and `.ignore`) are left out, and so
//! are hidden ones. A file named on the command line is always read.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

/// Every `.py` file under `paths`, sorted, each once.
pub(crate) fn python_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        let walker = WalkBuilder::new(path)
            // A tree copied out of its repository keeps its .gitignore rules.
            .require_git(false)
            .sort_by_file_name(|a, b| a.cmp(b))
            .build();
        // An entry that cannot be read (a broken link, no permission) is
        // skipped, as git would.
        files.extend(
            walker
                .flatten()
                .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
                .map(ignore::DirEntry::into_path)
                .filter(|p| is_python(p)),
        );
    }
    files.sort();
    files.dedup();
    files
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py")
}
