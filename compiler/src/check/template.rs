//! Checks template texts against a scope: names, fields, filters, `{% if %}`, `{% for %}`, and
//! values printed by `{{ }}` (which must be present and printable).

use super::expr::{ExprChecker, Typed, proven_set};
use super::scope::Scope;
use crate::diagnostics::types as wording;
use crate::syntax::ast::{TemplateNode, TemplateText};
use crate::types::Type;

impl ExprChecker<'_, '_, '_> {
    /// Checks every tag of a template text.
    pub fn template_text(&mut self, text: &TemplateText, scope: &Scope) {
        let outer = std::mem::replace(&mut self.in_template, true);
        self.nodes(&text.nodes, scope);
        self.in_template = outer;
    }

    fn nodes(&mut self, nodes: &[TemplateNode], scope: &Scope) {
        for node in nodes {
            self.node(node, scope);
        }
    }

    fn node(&mut self, node: &TemplateNode, scope: &Scope) {
        match node {
            TemplateNode::Raw { .. } => {}
            TemplateNode::Output { expr, filters, .. } => {
                let mut typed = self.check(expr, scope);
                let mut last_expr = expr;
                for filter in filters {
                    let ty = self.call(filter, Some((last_expr, typed)), scope);
                    typed = Typed { ty, currency: None };
                    last_expr = expr;
                }
                self.printable(
                    last_expr,
                    &typed.ty,
                    filters.last().map(|f| f.name.name.as_str()),
                );
            }
            TemplateNode::If {
                branches,
                otherwise,
                ..
            } => {
                for (condition, body) in branches {
                    self.condition(condition, scope);
                    let mut inner = scope.clone();
                    inner.narrowed.extend(proven_set(condition));
                    self.nodes(body, &inner);
                }
                self.nodes(otherwise, scope);
            }
            TemplateNode::For {
                var, list, body, ..
            } => {
                let typed = self.check(list, scope);
                let element = match typed.ty {
                    Type::List(element) => *element,
                    Type::Unknown => Type::Unknown,
                    Type::Optional(inner) if matches!(*inner, Type::List(_)) => {
                        let shown = self.program.schemas.show(&inner);
                        self.diagnostics.push(wording::unhandled_optional_in(
                            self.in_template,
                            list.span,
                            &super::expr::expr_text(list),
                            &shown,
                            "loop over it",
                        ));
                        match *inner {
                            Type::List(element) => *element,
                            _ => Type::Unknown,
                        }
                    }
                    other => {
                        let shown = self.program.schemas.show(&other);
                        self.diagnostics.push(wording::not_a_list(
                            list.span,
                            &shown,
                            "`{% for %}`",
                        ));
                        Type::Unknown
                    }
                };
                let mut inner = scope.clone();
                inner.bind(&var.name, element, var.span);
                self.nodes(body, &inner);
            }
        }
    }

    fn printable(&mut self, expr: &crate::syntax::ast::Expr, ty: &Type, filter: Option<&str>) {
        match ty {
            Type::Optional(inner) => {
                let shown = self.program.schemas.show(inner);
                let what = match filter {
                    Some(name) => format!("print it through `{name}`"),
                    None => "print it".to_string(),
                };
                self.diagnostics.push(wording::unhandled_optional_in(
                    self.in_template,
                    expr.span,
                    &super::expr::expr_text(expr),
                    &shown,
                    &what,
                ));
            }
            Type::Record(_) | Type::List(_) => {
                let shown = self.program.schemas.show(ty);
                self.diagnostics
                    .push(wording::not_printable(expr.span, &shown));
            }
            _ => {}
        }
    }
}
