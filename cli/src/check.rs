//! `journey check`: loads files, checks them as one program, prints diagnostics, sets the exit code.
//!
//! Also the pieces other commands share with it, so that they read files and report problems
//! exactly as `journey check` does: [`read_sources`], [`on_big_stack`], [`human_report`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use journey_compiler::Checked;
use journey_compiler::diagnostics::{Severity, render};

use crate::files::{self, DiskLoader};
use crate::{ColorChoice, Format};

/// Stack for the checking thread: generous, since only what is used is committed.
const CHECK_STACK_BYTES: usize = 1 << 30;

/// Arguments of `journey check`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to check (folders are searched for *.journey). Default: the current folder.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Exit with 1 when there are warnings, not only errors.
    #[arg(long)]
    deny_warnings: bool,
    /// When to use colours in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

/// Runs the check and returns the exit code.
pub fn run(args: &Args) -> ExitCode {
    let sources = match read_sources(&args.paths) {
        Ok(sources) => sources,
        Err(message) => return usage_error(&message),
    };
    let n_files = sources.len();
    let checked = match on_big_stack(move || journey_compiler::check_files(sources, &DiskLoader)) {
        Ok(checked) => checked,
        Err(message) => return usage_error(&message),
    };
    let errors = checked.count(Severity::Error);
    let warnings = checked.count(Severity::Warning);
    let output = match args.format {
        Format::Human => human_report(&checked, n_files, use_color(args.color)),
        Format::Json => render::json::render(&checked.diagnostics, &checked.sources),
        Format::Sarif => render::sarif::render(&checked.diagnostics, &checked.sources),
        Format::Github => render::github::render(&checked.diagnostics, &checked.sources),
    };
    if let Err(code) = crate::compile::write_stdout(&output) {
        return code;
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The `.journey` files under `paths` (the current folder when there are none), read: (name,
/// text) pairs as the compiler takes them. The error is a message for [`usage_error`].
pub fn read_sources(paths: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let found = files::collect(&paths)?;
    if found.is_empty() {
        return Err("no .journey files found in the given paths".to_string());
    }
    let mut sources = Vec::with_capacity(found.len());
    for path in &found {
        match std::fs::read_to_string(path) {
            Ok(text) => sources.push((path.display().to_string(), text)),
            Err(error) => {
                return Err(format!(
                    "cannot read `{}`: {}",
                    path.display(),
                    files::plain(&error)
                ));
            }
        }
    }
    Ok(sources)
}

/// Runs `work` on a thread with a large stack: deeply nested input recurses deeply, and a large
/// stack keeps that from crashing the process. The error is a message for [`usage_error`].
pub fn on_big_stack<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    match std::thread::Builder::new()
        .stack_size(CHECK_STACK_BYTES)
        .spawn(work)
        .map(|handle| handle.join())
    {
        Ok(Ok(result)) => Ok(result),
        _ => Err(
            "the checker stopped unexpectedly; please report this with the file that caused it"
                .to_string(),
        ),
    }
}

/// The human report of `journey check`: every diagnostic with its source excerpt, then the
/// summary line (`checked 2 files: 1 error, 1 warning`).
pub fn human_report(checked: &Checked, n_files: usize, color: bool) -> String {
    let mut text = render::terminal::render(&checked.diagnostics, &checked.sources, color);
    text.push_str(&summary(
        n_files,
        checked.count(Severity::Error),
        checked.count(Severity::Warning),
    ));
    text
}

fn summary(files: usize, errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if errors == 0 && warnings == 0 {
        format!("checked {}: no problems found\n", plural(files, "file"))
    } else {
        format!(
            "checked {}: {}, {}\n",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Whether to colour output going to stdout.
pub fn use_color(choice: ColorChoice) -> bool {
    color_for(choice, std::io::stdout().is_terminal())
}

/// Whether to colour output going to a stream, given whether that stream is a terminal.
pub fn color_for(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

/// Prints `error: MESSAGE` on stderr; returns exit code 2 (usage or I/O error).
pub fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
