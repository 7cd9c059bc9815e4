//! Human output through ariadne: source excerpts, labels, notes and help.

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind};

use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};

/// Renders diagnostics for a terminal; `color` only when writing to a terminal without `NO_COLOR`.
pub fn render(diagnostics: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut out = Vec::new();
    for diagnostic in diagnostics {
        render_one(diagnostic, sources, color, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn source_span(sources: &SourceMap, span: Span) -> (String, std::ops::Range<usize>) {
    let name = sources
        .get(span.file)
        .map_or_else(|| "<unknown>".to_string(), |f| f.name.clone());
    let len = sources.get(span.file).map_or(0, |f| f.text.len());
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).clamp(start, len);
    (name, start..end)
}

fn render_one(diagnostic: &Diagnostic, sources: &SourceMap, color: bool, out: &mut Vec<u8>) {
    let (kind, primary_color) = match diagnostic.severity {
        Severity::Error => (ReportKind::Error, Color::Red),
        Severity::Warning => (ReportKind::Warning, Color::Yellow),
    };
    let primary = source_span(sources, diagnostic.primary.span);
    let mut report = Report::build(kind, primary.clone())
        .with_config(
            Config::default()
                .with_color(color)
                .with_index_type(IndexType::Byte),
        )
        .with_code(diagnostic.code.id())
        .with_message(&diagnostic.message);
    let mut label = Label::new(primary).with_color(primary_color).with_order(0);
    if let Some(text) = &diagnostic.primary.text {
        label = label.with_message(text);
    }
    report = report.with_label(label);
    for (idx, secondary) in diagnostic.secondary.iter().enumerate() {
        let mut label = Label::new(source_span(sources, secondary.span))
            .with_color(Color::Blue)
            .with_order(i32::try_from(idx + 1).unwrap_or(i32::MAX));
        if let Some(text) = &secondary.text {
            label = label.with_message(text);
        }
        report = report.with_label(label);
    }
    for note in &diagnostic.notes {
        report = report.with_note(note);
    }
    if let Some(help) = &diagnostic.help {
        report = report.with_help(&help.text);
    }
    let cache = ariadne::sources(
        sources
            .iter()
            .map(|(_, file)| (file.name.clone(), file.text.clone())),
    );
    // Writing to a Vec cannot fail; a failure would only lose this one report.
    let _ = report.finish().write(cache, &mut *out);
}
