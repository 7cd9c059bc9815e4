//! Template texts: `{{ expr | filter }}`, `{% if %}`, `{% for %}` and `{# comments #}` inside a
//! subject, body or layout part, parsed by the same grammar as journeys so they can be checked.

use pest::Parser;
use pest::iterators::Pair;

use super::ast::{TemplateNode, TemplateText};
use super::parse::{self, Ctx};
use super::text::{self, TripleLayout};
use super::{JourneyParser, Rule, expected};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;

/// Parses the template text of a literal (quotes included) found at `span`.
pub fn parse(ctx: Ctx, raw: &str, span: Span, diagnostics: &mut Vec<Diagnostic>) -> TemplateText {
    let quote_len = if raw.starts_with("\"\"\"") { 3 } else { 1 };
    let inner = raw
        .get(quote_len..raw.len().saturating_sub(quote_len))
        .unwrap_or("");
    let inner_ctx = Ctx {
        file: ctx.file,
        base: span.start as usize + quote_len,
    };
    let cleaner = if quote_len == 3 {
        Cleaner::Triple(TripleLayout::of(inner))
    } else {
        Cleaner::Escaped
    };
    let nodes = match JourneyParser::parse(Rule::template_text, inner) {
        Ok(mut pairs) => {
            let mut builder = Builder {
                ctx: inner_ctx,
                inner,
                cleaner,
                diagnostics,
            };
            pairs
                .next()
                .map(|root| builder.nodes(root.into_inner()))
                .unwrap_or_default()
        }
        Err(error) => {
            let error = super::detailed(Rule::template_text, inner).unwrap_or(error);
            diagnostics.push(expected::diagnostic(
                Code::TemplateSyntax,
                inner_ctx,
                inner,
                &error,
            ));
            Vec::new()
        }
    };
    TemplateText { nodes, span }
}

enum Cleaner {
    Triple(TripleLayout),
    Escaped,
}

struct Builder<'a, 'd> {
    ctx: Ctx,
    inner: &'a str,
    cleaner: Cleaner,
    diagnostics: &'d mut Vec<Diagnostic>,
}

impl Builder<'_, '_> {
    fn nodes<'i>(&mut self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> Vec<TemplateNode> {
        pairs.filter_map(|pair| self.node(pair)).collect()
    }

    fn node(&mut self, pair: Pair<'_, Rule>) -> Option<TemplateNode> {
        let span = self.ctx.span(&pair);
        match pair.as_rule() {
            Rule::t_raw => {
                let range = pair.as_span();
                let mut text = match &self.cleaner {
                    Cleaner::Triple(layout) => layout.clean(self.inner, range.start(), range.end()),
                    Cleaner::Escaped => text::unescape(pair.as_str()),
                };
                // Whitespace control: `-%}` / `-}}` before this text and `{%-` / `{{-` after it
                // remove the blank space and line breaks on that side.
                let before = self.inner.get(..range.start()).unwrap_or("");
                if before.ends_with("-%}") || before.ends_with("-}}") {
                    text = text.trim_start().to_string();
                }
                let after = self.inner.get(range.end()..).unwrap_or("");
                if after.starts_with("{%-") || after.starts_with("{{-") {
                    text.truncate(text.trim_end().len());
                }
                (!text.is_empty()).then_some(TemplateNode::Raw { text, span })
            }
            Rule::t_output => {
                let mut expr = None;
                let mut filters = Vec::new();
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::expr => expr = Some(parse::expr(self.ctx, part, self.diagnostics)),
                        Rule::filter => {
                            filters.push(parse::filter(self.ctx, part, self.diagnostics))
                        }
                        _ => {}
                    }
                }
                Some(TemplateNode::Output {
                    expr: expr?,
                    filters,
                    span,
                })
            }
            Rule::t_if => {
                let mut branches = Vec::new();
                let mut otherwise = Vec::new();
                let mut in_else = false;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::t_if_open | Rule::t_elif_open => {
                            if let Some(condition) =
                                part.into_inner().find(|p| p.as_rule() == Rule::expr)
                            {
                                let condition = parse::expr(self.ctx, condition, self.diagnostics);
                                branches.push((condition, Vec::new()));
                            }
                        }
                        Rule::t_else_tag => in_else = true,
                        Rule::t_endif_tag => {}
                        _ => {
                            if let Some(node) = self.node(part) {
                                if in_else {
                                    otherwise.push(node);
                                } else if let Some((_, nodes)) = branches.last_mut() {
                                    nodes.push(node);
                                }
                            }
                        }
                    }
                }
                Some(TemplateNode::If {
                    branches,
                    otherwise,
                    span,
                })
            }
            Rule::t_for => {
                let mut parts = pair.into_inner();
                let open = parts.next()?;
                let mut var = None;
                let mut list = None;
                for part in open.into_inner() {
                    match part.as_rule() {
                        Rule::ident => {
                            var = Some(crate::syntax::ast::Ident {
                                name: part.as_str().to_string(),
                                span: self.ctx.span(&part),
                            });
                        }
                        Rule::expr => list = Some(parse::expr(self.ctx, part, self.diagnostics)),
                        _ => {}
                    }
                }
                let body = self.nodes(parts.filter(|p| p.as_rule() != Rule::t_endfor_tag));
                Some(TemplateNode::For {
                    var: var?,
                    list: list?,
                    body,
                    span,
                })
            }
            _ => None,
        }
    }
}
