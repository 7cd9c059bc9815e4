//! The checks that run on a resolved program: journeys (scope, reachability, waits, goals),
//! templates at every send, and the declarations that stand on their own.

pub mod declarations;
pub mod expr;
pub mod journey;
pub mod migrations;
pub mod scope;
pub mod template;

use std::collections::BTreeSet;

use crate::diagnostics::Diagnostic;
use crate::model::Program;

/// Runs every check on `program`; `user_templates` names templates declared outside the prelude.
pub fn program(
    program: &Program<'_>,
    user_templates: &BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut sent = journey::SentTemplates::new();
    for journey in &program.all_journeys {
        journey::check(program, journey, &mut sent, diagnostics);
        migrations::check(journey, diagnostics);
    }
    declarations::templates(program, &sent, user_templates, diagnostics);
    declarations::layouts_and_segments(program, diagnostics);
    declarations::policies(program, diagnostics);
}
