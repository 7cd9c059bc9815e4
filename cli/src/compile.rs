//! Journey files on disk -> compiled programs, for the commands that run them (`simulate`,
//! `test`). Problems are printed to stderr as `journey check` prints them; errors stop the
//! command with exit code 1.

use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::bytecode::Program;
use journey_compiler::check::migrations::RunningVersion;
use journey_compiler::diagnostics::{Severity, render};

use crate::check::{on_big_stack, read_sources, usage_error};
use crate::files::DiskLoader;

/// Reads, checks and compiles the journeys under `paths`; prints diagnostics to stderr.
pub fn programs(paths: &[PathBuf], color: bool) -> Result<Vec<Program>, ExitCode> {
    build(paths, color, None)
}

/// As [`programs`], for a deploy over the versions that run: `migrate` lines are checked
/// against them too.
pub fn programs_for_deploy(
    paths: &[PathBuf],
    color: bool,
    running: Vec<RunningVersion>,
) -> Result<Vec<Program>, ExitCode> {
    build(paths, color, Some(running))
}

fn build(
    paths: &[PathBuf],
    color: bool,
    running: Option<Vec<RunningVersion>>,
) -> Result<Vec<Program>, ExitCode> {
    let sources = read_sources(paths).map_err(|message| usage_error(&message))?;
    let built = on_big_stack(move || match &running {
        Some(running) => journey_compiler::build_for_deploy(sources, &DiskLoader, running),
        None => journey_compiler::build_files(sources, &DiskLoader),
    })
    .map_err(|message| usage_error(&message))?;
    if !built.checked.diagnostics.is_empty() {
        eprint!(
            "{}",
            render::terminal::render(&built.checked.diagnostics, &built.checked.sources, color)
        );
    }
    let errors = built.checked.count(Severity::Error);
    if errors > 0 {
        eprintln!(
            "error: the journeys have {errors} error{}; fix them first (`journey check` lists them)",
            if errors == 1 { "" } else { "s" }
        );
        return Err(ExitCode::from(1));
    }
    let internal = crate::build::internal_errors(&built);
    if !internal.is_empty() {
        for line in internal {
            eprintln!("{line}");
        }
        return Err(ExitCode::from(1));
    }
    Ok(built.programs)
}

/// Writes `text` to stdout; a closed or failing stdout is exit code 2.
pub fn write_stdout(text: &str) -> Result<(), ExitCode> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|_| ExitCode::from(2))
}
