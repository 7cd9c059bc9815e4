//! `journey check`: loads files, checks them as one program, prints diagnostics, sets the exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

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
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let found = match files::collect(&paths) {
        Ok(found) => found,
        Err(message) => return usage_error(&message),
    };
    if found.is_empty() {
        return usage_error("no .journey files found in the given paths");
    }
    let mut sources = Vec::with_capacity(found.len());
    for path in &found {
        match std::fs::read_to_string(path) {
            Ok(text) => sources.push((path.display().to_string(), text)),
            Err(error) => {
                return usage_error(&format!(
                    "cannot read `{}`: {}",
                    path.display(),
                    files::plain(&error)
                ));
            }
        }
    }
    // Deeply nested input recurses deeply; a large stack keeps that from crashing the process.
    let checked = match std::thread::Builder::new()
        .stack_size(CHECK_STACK_BYTES)
        .spawn(move || journey_compiler::check_files(sources, &DiskLoader))
        .map(|handle| handle.join())
    {
        Ok(Ok(checked)) => checked,
        _ => {
            return usage_error(
                "the checker stopped unexpectedly; please report this with the file that caused it",
            );
        }
    };
    let errors = checked.count(Severity::Error);
    let warnings = checked.count(Severity::Warning);
    let output = match args.format {
        Format::Human => {
            let mut text = render::terminal::render(
                &checked.diagnostics,
                &checked.sources,
                use_color(args.color),
            );
            text.push_str(&summary(found.len(), errors, warnings));
            text
        }
        Format::Json => render::json::render(&checked.diagnostics, &checked.sources),
        Format::Sarif => render::sarif::render(&checked.diagnostics, &checked.sources),
        Format::Github => render::github::render(&checked.diagnostics, &checked.sources),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(output.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(2);
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
