//! `resilience-migrate [--format table|json|markdown] PATH...`

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use resilience_migrate::render::{self, Format};

const USAGE: &str = "\
Usage: resilience-migrate [--format table|json|markdown] PATH...

Reads the Python files under each PATH (honouring .gitignore) and prints, for
every tenacity, stamina, pybreaker, aiobreaker and stale-cache decorator, the resilience
attributes MIGRATING.md maps it to, with notes for what does not map one to one.

Options:
  -f, --format FORMAT  table (the default), json, or markdown (a checklist)
  -h, --help           print this help
  -V, --version        print the version

Exits 0 when the scan finished, even with decorators it could not map or
files it could not parse (they are reported); 2 on bad usage.";

/// Bad usage: the message and the exit code 2.
struct Usage(String);

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Usage(message)) => {
            eprintln!("resilience-migrate: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Usage> {
    use lexopt::prelude::*;

    let mut format = Format::Table;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = lexopt::Parser::from_env();
    let usage = |e: lexopt::Error| Usage(e.to_string());
    while let Some(arg) = args.next().map_err(usage)? {
        match arg {
            Short('f') | Long("format") => {
                let value = args.value().map_err(usage)?;
                let name = value.string().map_err(usage)?;
                format = Format::parse(&name).ok_or_else(|| {
                    Usage(format!(
                        "unknown format `{name}`: choose table, json or markdown"
                    ))
                })?;
            }
            Short('h') | Long("help") => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            Short('V') | Long("version") => {
                println!("resilience-migrate {}", env!("CARGO_PKG_VERSION"));
                return Ok(ExitCode::SUCCESS);
            }
            Value(path) => paths.push(PathBuf::from(path)),
            _ => return Err(Usage(arg.unexpected().to_string())),
        }
    }
    if paths.is_empty() {
        return Err(Usage(
            "name at least one Python file or folder to read".into(),
        ));
    }
    let report = resilience_migrate::scan(&paths).map_err(|e| Usage(e.to_string()))?;
    let text = render::render(&report, format);
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
