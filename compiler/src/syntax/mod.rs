//! Source text to syntax tree: the pest grammar, error recovery and plain-language parse errors.
//!
//! [`parse_file`] never fails: it returns the declarations that parsed plus a diagnostic for each
//! declaration that did not.

pub mod ast;
pub mod expected;
pub mod parse;
pub mod recovery;
pub mod template;
pub mod text;

use pest::Parser;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::FileId;

mod generated {
    #![allow(missing_docs)]
    /// The parser generated from `grammar.pest`.
    #[derive(pest_derive::Parser)]
    #[grammar = "syntax/grammar.pest"]
    pub struct JourneyParser;
}

pub use generated::{JourneyParser, Rule};

/// Parses one file, resuming at the next top-level declaration after an error.
pub fn parse_file(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut declarations = Vec::new();
    let mut broken = Vec::new();
    let starts = recovery::chunk_starts(text);
    let ends = starts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(text.len()));
    for (start, end) in starts.iter().copied().zip(ends) {
        let Some(chunk_text) = text.get(start..end) else {
            continue;
        };
        let ctx = parse::Ctx { file, base: start };
        if let Some(deepest) = too_deep(chunk_text) {
            let span = crate::source::Span::new(file, start + deepest, start + deepest + 1);
            diagnostics.push(crate::diagnostics::syntax::too_deep(span, MAX_NESTING));
            broken.extend(declaration_head(chunk_text));
            continue;
        }
        match JourneyParser::parse(Rule::chunk, chunk_text) {
            Ok(mut pairs) => {
                if let Some(root) = pairs.next() {
                    declarations.extend(parse::chunk(ctx, root, &mut diagnostics));
                }
            }
            Err(error) => {
                let error = detailed(Rule::chunk, chunk_text).unwrap_or(error);
                diagnostics.push(expected::diagnostic(Code::Syntax, ctx, chunk_text, &error));
                broken.extend(declaration_head(chunk_text));
            }
        }
    }
    (
        ast::File {
            declarations,
            broken,
        },
        diagnostics,
    )
}

/// The deepest nesting of brackets and template blocks a declaration may have. Real journeys
/// stay far below; the limit keeps hostile input from exhausting the stack.
pub const MAX_NESTING: usize = 128;

/// The offset where nesting first goes past [`MAX_NESTING`], if it does: brackets, template
/// blocks (`{% if %}`, `{% for %}`) and runs of prefix operators (`not not not …`, `- - …`).
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth: usize = 0;
    let mut prefix_run: usize = 0;
    for (idx, byte) in bytes.iter().enumerate() {
        let rest = text.get(idx..).unwrap_or("");
        match byte {
            b'{' if rest.starts_with("{%") => {
                let tag = rest
                    .get(2..)
                    .unwrap_or("")
                    .trim_start_matches('-')
                    .trim_start();
                if tag.starts_with("if") || tag.starts_with("for") {
                    depth += 1;
                } else if tag.starts_with("end") {
                    depth = depth.saturating_sub(1);
                }
            }
            b'}' if idx > 0 && bytes.get(idx - 1) == Some(&b'%') => {}
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'-' if rest.starts_with("- ") => prefix_run += 1,
            b'n' if rest.starts_with("not ") => prefix_run += 1,
            b' ' | b'\t' | b'\n' | b'\r' | b'o' | b't' => {}
            _ => prefix_run = 0,
        }
        if depth > MAX_NESTING || prefix_run > MAX_NESTING {
            return Some(idx);
        }
    }
    None
}

/// Parses again with pest's error details on (what was expected at the furthest point); they
/// cost time, so only failed parses pay. The switch is global and stays on once set, which
/// keeps messages identical whichever thread parses first.
pub fn detailed(rule: Rule, text: &str) -> Option<pest::error::Error<Rule>> {
    pest::set_error_detail(true);
    JourneyParser::parse(rule, text).err()
}

/// Keyword and name at the start of a chunk: `template welcome: …` -> ("template", "welcome").
fn declaration_head(chunk: &str) -> Option<(String, String)> {
    let mut words = chunk.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'));
    let keyword = words.next()?.to_string();
    let name = words.find(|word| !word.is_empty())?.to_string();
    Some((keyword, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_parses() {
        for file in journey_stdlib::PRELUDE {
            let (parsed, diagnostics) = parse_file(FileId(0), file.text);
            assert!(diagnostics.is_empty(), "{}: {diagnostics:#?}", file.name);
            assert!(!parsed.declarations.is_empty());
        }
    }
}
