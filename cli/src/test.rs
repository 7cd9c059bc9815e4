//! `journey test`: runs the tests written next to journeys (`*.test.toml`) and reports every
//! expectation that did not hold as a diagnostic at the expectation. Exit code 0 when all pass,
//! 1 when one fails (or the journeys do not compile), 2 for usage and I/O errors.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use journey_compiler::diagnostics::render;
use journey_compiler::source::SourceMap;
use journey_runtime::testing;
use journey_runtime::timeline;
use journey_runtime::vm::Library;

use crate::{compile, files};

/// Arguments of `journey test`.
#[derive(clap::Args)]
pub struct Args {
    /// Test files, or folders searched for `*.test.toml` (default: the current folder).
    paths: Vec<PathBuf>,
    /// Only run tests whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Print the timeline of each failing test.
    #[arg(long)]
    verbose: bool,
}

/// Runs the tests and prints the results.
pub fn run(args: &Args) -> ExitCode {
    let color = crate::check::color_for(crate::ColorChoice::Auto, std::io::stdout().is_terminal());
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let test_files = match files::collect_ending(&paths, ".test.toml") {
        Ok(found) => found,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if test_files.is_empty() {
        eprintln!("error: no test files (*.test.toml) found in the given paths");
        return ExitCode::from(2);
    }
    let mut libraries: BTreeMap<Vec<PathBuf>, Library> = BTreeMap::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut out = String::new();
    for path in &test_files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read `{name}`: {}", files::plain(&error));
                return ExitCode::from(2);
            }
        };
        let mut sources = SourceMap::new();
        let file_id = sources.add(name.clone(), text.clone());
        out.push_str(&format!("{name}\n"));
        let parsed = match testing::parse(&text) {
            Ok(parsed) => parsed,
            Err(error) => {
                let diagnostic = testing::invalid(file_id, &error);
                out.push_str(&render::terminal::render(&[diagnostic], &sources, color));
                failed += 1;
                continue;
            }
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let journeys: Vec<PathBuf> = match &parsed.journeys {
            Some(list) => list.iter().map(|p| base.join(p)).collect(),
            None => vec![base.to_path_buf()],
        };
        if !libraries.contains_key(&journeys) {
            match compile::programs(&journeys, color) {
                Ok(programs) => {
                    libraries.insert(journeys.clone(), Library::with(programs));
                }
                Err(code) => {
                    // Show what ran before the journeys that do not compile.
                    let _ = std::io::stdout().write_all(out.as_bytes());
                    return code;
                }
            }
        }
        let Some(library) = libraries.get(&journeys) else {
            continue;
        };
        for outcome in testing::run(library, file_id, &parsed) {
            if let Some(filter) = &args.filter
                && !outcome.name.contains(filter.as_str())
            {
                continue;
            }
            if outcome.passed() {
                passed += 1;
                out.push_str(&format!("  ok    {}\n", outcome.name));
            } else {
                failed += 1;
                out.push_str(&format!("  FAIL  {}\n", outcome.name));
                out.push_str(&render::terminal::render(
                    &outcome.failures,
                    &sources,
                    color,
                ));
                if args.verbose {
                    out.push_str("  what happened:\n");
                    for line in
                        timeline::human(&outcome.log, &outcome.zones, Default::default()).lines()
                    {
                        out.push_str(&format!("    {line}\n"));
                    }
                }
            }
        }
    }
    let files_count = test_files.len();
    out.push_str(&format!(
        "test result: {}. {passed} passed, {failed} failed ({} file{})\n",
        if failed == 0 { "ok" } else { "FAILED" },
        files_count,
        if files_count == 1 { "" } else { "s" }
    ));
    if let Err(code) = crate::compile::write_stdout(&out) {
        return code;
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
