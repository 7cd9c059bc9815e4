//! GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`.

use super::locate;
use crate::diagnostics::{Diagnostic, Severity};
use crate::source::SourceMap;

/// One annotation line per diagnostic.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let location = locate(sources, diagnostic.primary.span);
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(&help.text);
        }
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(location.file),
            location.line,
            location.column,
            location.end_line,
            location.end_column,
            escape_property(&format!(
                "{} {}",
                diagnostic.code.id(),
                diagnostic.code.name()
            )),
            escape_data(&message),
        ));
    }
    out
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
