//! Journey files on disk -> compiled programs, for the commands that run journeys (`simulate`,
//! `test`). Problems are printed to stderr as `journey check` prints them; errors stop the
//! command with exit code 1.

use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::bytecode::Program;
use journey_compiler::diagnostics::{Severity, render};

use crate::files::{self, DiskLoader};

/// Stack for the compiling thread: deep nesting recurses deeply.
const STACK_BYTES: usize = 1 << 30;

/// Reads, checks and compiles the journeys under `paths`; prints diagnostics to stderr.
pub fn programs(paths: &[PathBuf], color: bool) -> Result<Vec<Program>, ExitCode> {
    let found = files::collect(paths).map_err(|message| fail(&message))?;
    if found.is_empty() {
        return Err(fail("no .journey files found in the given paths"));
    }
    let mut sources = Vec::with_capacity(found.len());
    for path in &found {
        let text = std::fs::read_to_string(path).map_err(|error| {
            fail(&format!(
                "cannot read `{}`: {}",
                path.display(),
                files::plain(&error)
            ))
        })?;
        sources.push((path.display().to_string(), text));
    }
    let built = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || journey_compiler::build_files(sources, &DiskLoader))
        .map(|handle| handle.join());
    let Ok(Ok(built)) = built else {
        return Err(fail(
            "the compiler stopped unexpectedly; please report this with the file that caused it",
        ));
    };
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
    if let Some(failure) = built.failures.first() {
        eprintln!(
            "internal error: cannot compile a journey: {} (please report this)",
            failure.message
        );
        return Err(ExitCode::from(1));
    }
    Ok(built.programs)
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
