//! Reads and parses the files on every core: parsing is nearly all of a
//! scan's time, and files parse independently.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::python::module::{self, Module};

/// A parsed file, or the file and why it could not be read.
pub(crate) type Parsed = Result<Module, (PathBuf, String)>;

/// Each file parsed, or why it could not be read, in the order given.
pub(crate) fn parse_all(files: Vec<PathBuf>) -> Vec<Parsed> {
    let workers = thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len())
        .max(1);
    // Files are taken one at a time from a shared counter, so that one
    // large file does not leave the other cores idle.
    let next = AtomicUsize::new(0);
    let mut parsed: Vec<(usize, Parsed)> = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut parser = module::parser();
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(index) else { break };
                        // A file in another encoding (`# -*- coding: latin-1 -*-`)
                        // is still read: decorators are ASCII.
                        let result = match std::fs::read(path) {
                            Ok(bytes) => {
                                let source = String::from_utf8_lossy(&bytes);
                                Ok(module::parse(path.clone(), &source, &mut parser))
                            }
                            Err(e) => Err((path.clone(), e.to_string())),
                        };
                        done.push((index, result));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                // A panic in a worker is a bug: report it as it is.
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    parsed.sort_by_key(|(index, _)| *index);
    parsed.into_iter().map(|(_, result)| result).collect()
}
