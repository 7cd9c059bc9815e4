//! `journey build`: checks the files as `journey check` does and, when they have no errors,
//! compiles every journey and writes its bytecode to `DIR/<journey>.jbc`.
//!
//! Nothing is written when there are errors. Each file is written atomically (a temporary name
//! in the same folder, then a rename), so a reader never sees half a program. Other files of
//! the folder are left alone: files of journeys that no longer exist stay until removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use journey_compiler::Built;
use journey_compiler::bytecode::format::{self, ProgramHash};
use journey_compiler::diagnostics::Severity;

use crate::ColorChoice;
use crate::check::{human_report, on_big_stack, read_sources, usage_error, use_color};
use crate::files::{self, DiskLoader};

/// Arguments of `journey build`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to build (folders are searched for *.journey). Default: the current folder.
    paths: Vec<PathBuf>,
    /// The folder to write the `.jbc` files to (created if needed).
    #[arg(long, value_name = "DIR", default_value = "build")]
    out: PathBuf,
    /// When to use colours in the report of problems.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// One compiled journey, encoded.
struct Output {
    journey: String,
    hash: ProgramHash,
    bytes: Vec<u8>,
    n_instructions: usize,
}

/// Builds the journeys and returns the exit code.
pub fn run(args: &Args) -> ExitCode {
    let sources = match read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(message) => return usage_error(&message),
    };
    let n_files = sources.len();
    let (built, outputs) = match on_big_stack(move || {
        let built = journey_compiler::build_files(sources, &DiskLoader);
        let outputs: Vec<Output> = built
            .programs
            .iter()
            .map(|program| {
                let (bytes, hash) = format::encode(program);
                Output {
                    journey: program.journey.clone(),
                    hash,
                    bytes,
                    n_instructions: program.code.len(),
                }
            })
            .collect();
        (built, outputs)
    }) {
        Ok(result) => result,
        Err(message) => return usage_error(&message),
    };
    let mut stdout = std::io::stdout().lock();
    // Errors and warnings, exactly as `journey check` prints them.
    if !built.checked.diagnostics.is_empty() {
        let report = human_report(&built.checked, n_files, use_color(args.color));
        if stdout.write_all(report.as_bytes()).is_err() {
            return ExitCode::from(2);
        }
    }
    if built.checked.count(Severity::Error) > 0 {
        let _ = stdout.flush();
        return ExitCode::from(1);
    }
    let internal = internal_errors(&built);
    if !internal.is_empty() {
        let _ = stdout.flush();
        for line in internal {
            eprintln!("{line}");
        }
        return ExitCode::from(1);
    }
    let mut lines = String::new();
    if !outputs.is_empty()
        && let Err(error) = std::fs::create_dir_all(&args.out)
    {
        return usage_error(&format!(
            "cannot create the folder `{}`: {}",
            args.out.display(),
            files::plain(&error)
        ));
    }
    let name_width = outputs.iter().map(|o| o.journey.len()).max().unwrap_or(0);
    let size_width = outputs
        .iter()
        .map(|o| thousands(o.bytes.len()).len())
        .max()
        .unwrap_or(0);
    for output in &outputs {
        let path = args.out.join(format!("{}.jbc", output.journey));
        if let Err(error) = write_atomically(&path, &output.bytes) {
            return usage_error(&format!(
                "cannot write `{}`: {}",
                path.display(),
                files::plain(&error)
            ));
        }
        lines.push_str(&format!(
            "{:name_width$}  {}  {:>size_width$} bytes  {}\n",
            output.journey,
            output.hash.short(),
            thousands(output.bytes.len()),
            plural(output.n_instructions, "instruction"),
        ));
    }
    lines.push_str(&format!(
        "built {} into {}\n",
        plural(outputs.len(), "journey"),
        folder_name(&args.out)
    ));
    if stdout
        .write_all(lines.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// One line per journey that checked clean but could not be compiled (a compiler defect):
/// `internal error: cannot compile journey NAME: MESSAGE (FILE:LINE:COLUMN)`, then a note.
pub fn internal_errors(built: &Built) -> Vec<String> {
    let mut lines = Vec::new();
    for failure in &built.failures {
        let sources = &built.checked.sources;
        let Some(file) = sources.get(failure.span.file) else {
            lines.push(format!(
                "internal error: cannot compile a journey: {}",
                failure.message
            ));
            continue;
        };
        let (line, column) = file.line_column(failure.span.start as usize);
        let what = if failure.journey.is_empty() {
            "a journey".to_string()
        } else {
            format!("journey {}", failure.journey)
        };
        lines.push(format!(
            "internal error: cannot compile {what}: {} ({}:{line}:{column})",
            failure.message, file.name
        ));
    }
    if !lines.is_empty() {
        lines.push(
            "note: the journeys check clean, so this is a defect of the journey compiler; please report it with the journey"
                .to_string(),
        );
    }
    lines
}

/// Writes `bytes` to a temporary file next to `path`, then renames it to `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let result = written.and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// `5120` -> `5,120`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (idx, digit) in digits.chars().enumerate() {
        if idx > 0 && (digits.len() - idx).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A folder as the summary shows it: with a trailing `/`.
fn folder_name(dir: &Path) -> String {
    let mut name = dir.display().to_string();
    if !name.ends_with(std::path::MAIN_SEPARATOR) && !name.ends_with('/') {
        name.push('/');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(5120), "5,120");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
