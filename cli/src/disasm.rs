//! `journey disasm`: prints the readable listing of compiled journeys, from `.jbc` files written
//! by `journey build` or from journey sources compiled in memory.
//!
//! Listings go to stdout, one per program, separated by a blank line. Problems go to stderr: a
//! file that cannot be read as bytecode exits with 2, sources with errors exit with 1 after the
//! report `journey check` prints. Decoding and listing run on a thread with a large stack: a
//! program is a tree, and a deeply nested one recurses deeply.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use journey_compiler::bytecode::format::{self, ProgramHash};
use journey_compiler::bytecode::{Program, disasm};
use journey_compiler::diagnostics::Severity;

use crate::ColorChoice;
use crate::build::internal_errors;
use crate::check::{color_for, human_report, on_big_stack, read_sources, usage_error};
use crate::files::{self, DiskLoader};

/// Arguments of `journey disasm`.
#[derive(clap::Args)]
pub struct Args {
    /// `.jbc` files written by `journey build`, or `.journey` files and folders (compiled
    /// together, as `journey build` does).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// List only the journey with this name.
    #[arg(long, value_name = "NAME")]
    journey: Option<String>,
}

/// What the files named on the command line gave.
enum Outcome {
    /// The listings to print.
    Listings(String),
    /// Messages for stderr, and the exit code.
    Failed(String, u8),
}

/// Prints the listings and returns the exit code.
pub fn run(args: &Args) -> ExitCode {
    let paths = args.files.clone();
    let journey = args.journey.clone();
    let outcome = match on_big_stack(move || listings(&paths, journey.as_deref())) {
        Ok(outcome) => outcome,
        Err(message) => return usage_error(&message),
    };
    match outcome {
        Outcome::Listings(text) => {
            if let Err(code) = crate::compile::write_stdout(&text) {
                return code;
            }
            ExitCode::SUCCESS
        }
        Outcome::Failed(messages, code) => {
            eprint!("{messages}");
            ExitCode::from(code)
        }
    }
}

/// Whether a path names a bytecode file rather than sources.
fn is_bytecode(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "jbc")
}

/// Reads every file, decodes or compiles it, and lists the programs in the order of the
/// arguments (the sources, compiled together, where the first of them was named).
fn listings(paths: &[PathBuf], journey: Option<&str>) -> Outcome {
    let mut programs: Vec<(Program, ProgramHash)> = Vec::new();
    let mut problems = String::new();
    let sources: Vec<PathBuf> = paths.iter().filter(|p| !is_bytecode(p)).cloned().collect();
    let mut sources_done = false;
    for path in paths {
        if is_bytecode(path) {
            match std::fs::read(path) {
                Ok(bytes) => match format::decode(&bytes) {
                    Ok(decoded) => programs.push(decoded),
                    Err(error) => {
                        problems.push_str(&format!("error: {}: {error}\n", path.display()));
                    }
                },
                Err(error) => problems.push_str(&format!(
                    "error: cannot read `{}`: {}\n",
                    path.display(),
                    files::plain(&error)
                )),
            }
        } else if !sources_done {
            sources_done = true;
            match compile(&sources) {
                Ok(compiled) => programs.extend(compiled),
                Err(outcome) => return outcome,
            }
        }
    }
    if !problems.is_empty() {
        return Outcome::Failed(problems, 2);
    }
    let selected: Vec<&(Program, ProgramHash)> = match journey {
        Some(name) => {
            let matching: Vec<_> = programs.iter().filter(|(p, _)| p.journey == name).collect();
            if matching.is_empty() {
                return Outcome::Failed(
                    format!("error: {}\n", unknown_journey(name, &programs)),
                    2,
                );
            }
            matching
        }
        None => programs.iter().collect(),
    };
    if selected.is_empty() {
        return Outcome::Failed("error: the given files declare no journey\n".to_string(), 2);
    }
    let texts: Vec<String> = selected
        .iter()
        .map(|(program, hash)| disasm::listing(program, Some(&hash.hex())))
        .collect();
    Outcome::Listings(texts.join("\n"))
}

/// Checks and compiles sources as `journey build` does; problems become the outcome.
fn compile(paths: &[PathBuf]) -> Result<Vec<(Program, ProgramHash)>, Outcome> {
    let sources = read_sources(paths).map_err(|message| {
        let hint = if message.starts_with("no .journey files") {
            " (to list compiled journeys, name their `.jbc` files: `journey disasm build/*.jbc`)"
        } else {
            ""
        };
        Outcome::Failed(format!("error: {message}{hint}\n"), 2)
    })?;
    let n_files = sources.len();
    let built = journey_compiler::build_files(sources, &DiskLoader);
    if built.checked.count(Severity::Error) > 0 {
        // The report of `journey check`, on stderr: stdout carries only listings.
        let color = color_for(ColorChoice::Auto, std::io::stderr().is_terminal());
        return Err(Outcome::Failed(
            human_report(&built.checked, n_files, color),
            1,
        ));
    }
    let internal = internal_errors(&built);
    if !internal.is_empty() {
        return Err(Outcome::Failed(internal.join("\n") + "\n", 1));
    }
    Ok(built
        .programs
        .into_iter()
        .map(|program| {
            let hash = format::hash(&program);
            (program, hash)
        })
        .collect())
}

fn unknown_journey(name: &str, programs: &[(Program, ProgramHash)]) -> String {
    if programs.is_empty() {
        return format!("no journey named `{name}`: the given files declare no journey");
    }
    let names: Vec<String> = programs
        .iter()
        .map(|(program, _)| format!("`{}`", program.journey))
        .collect();
    format!(
        "no journey named `{name}` in the given files; the journeys are {}",
        names.join(", ")
    )
}
