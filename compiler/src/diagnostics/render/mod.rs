//! Renderers: pure functions of `(&[Diagnostic], &SourceMap)` to text, one module per format.
//!
//! `terminal` is for people (ariadne, colour on request); `json`, `sarif` and `github` are for
//! machines. The language server maps diagnostics itself (it speaks LSP).

pub mod github;
pub mod json;
pub mod sarif;
pub mod terminal;

use crate::source::{SourceMap, Span};

/// 1-based line and column of the start and end of a span, and the file name.
pub struct Location<'a> {
    /// File name as given.
    pub file: &'a str,
    /// Start line (1-based).
    pub line: usize,
    /// Start column (1-based, in characters).
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column (exclusive, 1-based).
    pub end_column: usize,
}

/// Where a span lies, in lines and columns.
pub fn locate(sources: &SourceMap, span: Span) -> Location<'_> {
    match sources.get(span.file) {
        Some(file) => {
            let (line, column) = file.line_column(span.start as usize);
            let (end_line, end_column) = file.line_column(span.end as usize);
            Location {
                file: &file.name,
                line,
                column,
                end_line,
                end_column,
            }
        }
        None => Location {
            file: "<unknown>",
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        },
    }
}
