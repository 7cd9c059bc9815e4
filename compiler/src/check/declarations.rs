//! Checks of declarations that stand on their own: templates (parts, layout, unsubscribe path,
//! use), layouts, segments and policies.

use super::expr::ExprChecker;
use super::journey::SentTemplates;
use super::scope::Scope;
use crate::diagnostics::{Diagnostic, names, policies, templates as wording};
use crate::model::Program;
use crate::syntax::ast::{Category, Channel, ExprKind, Template, TemplateNode, TemplateText};
use crate::types::Type;

/// The scope every template, layout and segment sees: `customer`, `shop`, `unsubscribe_url`.
pub fn base_scope(program: &Program<'_>, span: crate::source::Span) -> Scope {
    let mut scope = Scope::default();
    if let Some(customer) = program.customer {
        scope.bind("customer", Type::Record(customer), span);
    }
    if let Some(shop) = program.shop {
        scope.bind("shop", Type::Record(shop), span);
    }
    scope.bind("unsubscribe_url", Type::Url, span);
    scope
}

/// Checks templates; `user_templates` are the ones from the user's files (not the prelude).
pub fn templates(
    program: &Program<'_>,
    sent: &SentTemplates,
    user_templates: &std::collections::BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for (name, template) in &program.templates {
        parts(template, diagnostics);
        let layout_prints_unsubscribe = match &template.layout {
            Some(layout) if layout.name == "none" => false,
            Some(layout) => match program.layouts.get(&layout.name) {
                Some(found) => layout_prints(found),
                None if program.is_broken(&layout.name) => true,
                None => {
                    let candidates: Vec<&str> = program
                        .layouts
                        .keys()
                        .map(String::as_str)
                        .chain(std::iter::once("none"))
                        .collect();
                    diagnostics.push(names::unknown_layout(layout, candidates));
                    true
                }
            },
            None => program
                .layouts
                .get("standard")
                .is_some_and(|l| layout_prints(l)),
        };
        let body_prints = template
            .body
            .as_ref()
            .is_some_and(|(_, body)| prints_unsubscribe(&body.nodes));
        if template.category == Category::Marketing
            && template.channel == Channel::Email
            && !layout_prints_unsubscribe
            && !body_prints
        {
            diagnostics.push(wording::missing_unsubscribe(template));
        }
        if user_templates.contains(name) && !sent.contains(name) {
            if !program.has_broken_journey {
                diagnostics.push(wording::unused_template(&template.name));
            }
            check_unsent(program, template, diagnostics);
        }
    }
}

/// Checks a template no journey sends against what every template sees (`customer`, `shop`,
/// `unsubscribe_url`), so mistakes in it show before it is first used.
fn check_unsent(program: &Program<'_>, template: &Template, diagnostics: &mut Vec<Diagnostic>) {
    let mut checker = ExprChecker::new(program, diagnostics);
    checker.unknown_roots_allowed = true;
    let scope = base_scope(program, template.name.span);
    let texts = [&template.subject, &template.preheader]
        .into_iter()
        .flatten()
        .chain(template.body.as_ref().map(|(_, body)| body));
    for text in texts {
        checker.template_text(text, &scope);
    }
}

fn parts(template: &Template, diagnostics: &mut Vec<Diagnostic>) {
    match template.channel {
        Channel::Email => {
            if template.subject.is_none() {
                diagnostics.push(wording::missing_part(
                    template,
                    "subject",
                    "subject \"Grazie per il tuo ordine!\"",
                ));
            }
            if template.body.is_none() {
                diagnostics.push(wording::missing_part(
                    template,
                    "body",
                    "body \"\"\"…\"\"\"",
                ));
            }
        }
        Channel::Sms | Channel::Webhook => {
            if template.body.is_none() {
                diagnostics.push(wording::missing_part(template, "body", "body \"…\""));
            }
        }
    }
}

fn layout_prints(layout: &crate::syntax::ast::Layout) -> bool {
    [&layout.header, &layout.footer]
        .into_iter()
        .flatten()
        .any(|text: &TemplateText| prints_unsubscribe(&text.nodes))
}

fn prints_unsubscribe(nodes: &[TemplateNode]) -> bool {
    nodes.iter().any(|node| match node {
        TemplateNode::Raw { .. } => false,
        TemplateNode::Output { expr, .. } => {
            matches!(&expr.kind, ExprKind::Path(path) if path.parts.len() == 1 && path.parts.first().is_some_and(|p| p.name == "unsubscribe_url"))
        }
        TemplateNode::If { branches, otherwise, .. } => {
            // Printed only conditionally does not count unless every branch prints it.
            !otherwise.is_empty()
                && branches.iter().all(|(_, body)| prints_unsubscribe(body))
                && prints_unsubscribe(otherwise)
        }
        TemplateNode::For { .. } => false,
    })
}

/// Checks layouts and segments against the base scope.
pub fn layouts_and_segments(program: &Program<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut checker = ExprChecker::new(program, diagnostics);
    for layout in program.layouts.values() {
        let scope = base_scope(program, layout.name.span);
        for text in [&layout.header, &layout.footer].into_iter().flatten() {
            checker.template_text(text, &scope);
        }
    }
    for segment in program.segments.values() {
        let scope = base_scope(program, segment.name.span);
        checker.condition(&segment.condition, &scope);
    }
}

/// Checks policies: what they govern, quiet hours and caps.
pub fn policies(program: &Program<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut checker = ExprChecker::new(program, diagnostics);
    for policy in &program.policies {
        if policy.name.name != "marketing" {
            checker
                .diagnostics
                .push(policies::unknown_policy(&policy.name));
        }
        for quiet in &policy.quiet_hours {
            checker.time_of_day(&quiet.from);
            checker.time_of_day(&quiet.to);
            if quiet.from.hour == quiet.to.hour && quiet.from.minute == quiet.to.minute {
                checker.diagnostics.push(policies::empty_quiet_hours(quiet));
            }
            if let Some(zone) = &quiet.zone {
                checker.zone(zone);
            }
        }
        for cap in &policy.caps {
            if cap.count == 0 {
                checker.diagnostics.push(policies::zero_cap(cap));
            }
        }
    }
}
