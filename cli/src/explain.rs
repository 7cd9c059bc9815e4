//! `journey explain J0102`: prints the section of docs/errors.md for a code.

use std::io::Write;
use std::process::ExitCode;

use journey_compiler::diagnostics::Code;

/// The error index, compiled in so `explain` works anywhere.
const ERROR_INDEX: &str = include_str!("../../docs/errors.md");

/// The section of the error index for `code`, heading included.
pub fn section(code: Code) -> Option<String> {
    let heading = format!("## {}:", code.id());
    let start = ERROR_INDEX.find(&heading)?;
    let rest = ERROR_INDEX.get(start..)?;
    let end = rest
        .get(3..)
        .and_then(|after| after.find("\n## "))
        .map_or(rest.len(), |idx| idx + 4);
    Some(rest.get(..end)?.trim_end().to_string())
}

/// Prints the explanation; exit 2 for an unknown code.
pub fn run(text: &str) -> ExitCode {
    let Some(code) = Code::parse(text) else {
        eprintln!(
            "error: `{text}` is not a diagnostic code; codes look like `J0102` (see docs/errors.md)"
        );
        return ExitCode::from(2);
    };
    let text = match section(code) {
        Some(section) => section,
        None => format!("{} {}: {}", code.id(), code.name(), code.summary()),
    };
    // A closed pipe (`journey explain J0102 | head`) is not an error worth reporting.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    ExitCode::SUCCESS
}
