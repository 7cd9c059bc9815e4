//! Journey files on disk -> compiled programs, for the commands that run them (`simulate`,
//! `test`, `run`, `plan`). Problems are rendered as `journey check` renders them: printed to
//! stderr by [`programs`], or returned as text by [`compile`] (for deploys, whose report goes to
//! the log or to the API's caller); errors stop the command with exit code 1.

use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::bytecode::Program;
use journey_compiler::check::migrations::RunningVersion;
use journey_compiler::diagnostics::{Severity, render};

use crate::check::{on_big_stack, read_sources};
use crate::files::DiskLoader;

/// Reads, checks and compiles the journeys under `paths`; prints diagnostics to stderr.
pub fn programs(paths: &[PathBuf], color: bool) -> Result<Vec<Program>, ExitCode> {
    printed(compile(paths, color, None))
}

/// As [`programs`], for a deploy over the versions that run: `migrate` lines are checked
/// against them too.
pub fn programs_for_deploy(
    paths: &[PathBuf],
    color: bool,
    running: Vec<RunningVersion>,
) -> Result<Vec<Program>, ExitCode> {
    printed(compile(paths, color, Some(running)))
}

/// A compilation: the programs and the report of its warnings (empty when clean).
pub struct Compiled {
    /// One program per journey.
    pub programs: Vec<Program>,
    /// The rendered warnings, if any.
    pub warnings: String,
}

/// Why a compilation produced no programs: the text to show and the exit code it means.
pub struct Refused {
    /// The rendered report (diagnostics and a closing line).
    pub report: String,
    /// 1 for errors in the journeys, 2 for files that cannot be read.
    pub code: u8,
}

/// Compiles the journeys under `paths` for a deploy over `running` (checked against it when
/// given); the report is text, for a log or an API answer, or stderr.
pub fn compile(
    paths: &[PathBuf],
    color: bool,
    running: Option<Vec<RunningVersion>>,
) -> Result<Compiled, Refused> {
    let usage = |message: String| Refused {
        report: format!("error: {message}\n"),
        code: 2,
    };
    let sources = read_sources(paths).map_err(usage)?;
    let built = on_big_stack(move || match &running {
        Some(running) => journey_compiler::build_for_deploy(sources, &DiskLoader, running),
        None => journey_compiler::build_files(sources, &DiskLoader),
    })
    .map_err(usage)?;
    let mut report = if built.checked.diagnostics.is_empty() {
        String::new()
    } else {
        render::terminal::render(&built.checked.diagnostics, &built.checked.sources, color)
    };
    let errors = built.checked.count(Severity::Error);
    if errors > 0 {
        report.push_str(&format!(
            "error: the journeys have {errors} error{}; fix them first (`journey check` lists them)\n",
            if errors == 1 { "" } else { "s" }
        ));
        return Err(Refused { report, code: 1 });
    }
    let internal = crate::build::internal_errors(&built);
    if !internal.is_empty() {
        for line in internal {
            report.push_str(&line);
            report.push('\n');
        }
        return Err(Refused { report, code: 1 });
    }
    Ok(Compiled {
        programs: built.programs,
        warnings: report,
    })
}

/// Prints a compilation's report to stderr; the programs, or the exit code.
fn printed(compiled: Result<Compiled, Refused>) -> Result<Vec<Program>, ExitCode> {
    match compiled {
        Ok(compiled) => {
            eprint!("{}", compiled.warnings);
            Ok(compiled.programs)
        }
        Err(refused) => {
            eprint!("{}", refused.report);
            Err(ExitCode::from(refused.code))
        }
    }
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
