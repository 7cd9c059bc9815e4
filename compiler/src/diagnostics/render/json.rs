//! `--format json`: a stable, versioned document (schema in docs/cli.md).

use serde::Serialize;

use super::locate;
use crate::diagnostics::Diagnostic;
use crate::source::{SourceMap, Span};

/// The version of the JSON document; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    errors: usize,
    warnings: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: String,
    name: &'static str,
    severity: &'static str,
    message: &'a str,
    primary: JsonLabel<'a>,
    secondary: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    help: Option<JsonHelp<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    start: u32,
    end: u32,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    text: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonHelp<'a> {
    text: &'a str,
    edit: Option<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: &'a str,
    start: u32,
    end: u32,
    replacement: &'a str,
}

fn label<'a>(sources: &'a SourceMap, span: Span, text: Option<&'a str>) -> JsonLabel<'a> {
    let location = locate(sources, span);
    JsonLabel {
        file: location.file,
        start: span.start,
        end: span.end,
        line: location.line,
        column: location.column,
        end_line: location.end_line,
        end_column: location.end_column,
        text,
    }
}

/// The whole JSON document, pretty-printed, ending with a newline.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let document = Document {
        version: SCHEMA_VERSION,
        errors: diagnostics
            .iter()
            .filter(|d| d.severity == crate::diagnostics::Severity::Error)
            .count(),
        warnings: diagnostics
            .iter()
            .filter(|d| d.severity == crate::diagnostics::Severity::Warning)
            .count(),
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code.id(),
                name: d.code.name(),
                severity: d.severity.as_str(),
                message: &d.message,
                primary: label(sources, d.primary.span, d.primary.text.as_deref()),
                secondary: d
                    .secondary
                    .iter()
                    .map(|l| label(sources, l.span, l.text.as_deref()))
                    .collect(),
                notes: &d.notes,
                help: d.help.as_ref().map(|help| JsonHelp {
                    text: &help.text,
                    edit: help.edit.as_ref().map(|edit| JsonEdit {
                        file: locate(sources, edit.span).file,
                        start: edit.span.start,
                        end: edit.span.end,
                        replacement: &edit.replacement,
                    }),
                }),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
