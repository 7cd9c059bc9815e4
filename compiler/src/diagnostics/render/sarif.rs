//! `--format sarif`: SARIF 2.1.0, for code-scanning dashboards.

use serde_json::{Value, json};

use super::locate;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// Where each rule's documentation lives.
pub const HELP_BASE: &str = "https://github.com/journey-lang/journey/blob/main/docs/errors.md";

fn region(sources: &SourceMap, span: Span) -> Value {
    let location = locate(sources, span);
    json!({
        "startLine": location.line,
        "startColumn": location.column,
        "endLine": location.end_line,
        "endColumn": location.end_column.max(1),
    })
}

fn physical(sources: &SourceMap, span: Span) -> Value {
    json!({
        "artifactLocation": { "uri": uri(locate(sources, span).file) },
        "region": region(sources, span),
    })
}

fn uri(name: &str) -> String {
    name.replace('\\', "/").replace(' ', "%20")
}

/// A SARIF 2.1.0 log with one run, pretty-printed, ending with a newline.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|code| {
            json!({
                "id": code.id(),
                "name": code.name(),
                "shortDescription": { "text": code.summary() },
                "helpUri": format!("{HELP_BASE}#{}-{}", code.id().to_lowercase(), code.name()),
                "defaultConfiguration": { "level": level(code.severity()) },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .map(|diagnostic| {
            let mut message = diagnostic.message.clone();
            if let Some(help) = &diagnostic.help {
                message.push_str("\nhelp: ");
                message.push_str(&help.text);
            }
            let rule_index = Code::ALL.iter().position(|c| *c == diagnostic.code).unwrap_or(0);
            let mut result = json!({
                "ruleId": diagnostic.code.id(),
                "ruleIndex": rule_index,
                "level": level(diagnostic.severity),
                "message": { "text": message },
                "locations": [{ "physicalLocation": physical(sources, diagnostic.primary.span) }],
            });
            let Some(fields) = result.as_object_mut() else {
                return result;
            };
            if !diagnostic.secondary.is_empty() {
                let related: Value = diagnostic
                    .secondary
                    .iter()
                    .enumerate()
                    .map(|(idx, label)| {
                        json!({
                            "id": idx,
                            "physicalLocation": physical(sources, label.span),
                            "message": { "text": label.text.clone().unwrap_or_default() },
                        })
                    })
                    .collect();
                fields.insert("relatedLocations".to_string(), related);
            }
            if let Some(edit) = diagnostic.help.as_ref().and_then(|h| h.edit.as_ref()) {
                let fixes = json!([{
                    "description": { "text": diagnostic.help.as_ref().map(|h| h.text.clone()).unwrap_or_default() },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": uri(locate(sources, edit.span).file) },
                        "replacements": [{
                            "deletedRegion": region(sources, edit.span),
                            "insertedContent": { "text": edit.replacement },
                        }],
                    }],
                }]);
                fields.insert("fixes".to_string(), fixes);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "journey",
                    "informationUri": "https://github.com/journey-lang/journey",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}
