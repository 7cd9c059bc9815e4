//! Wording of step-label and migration diagnostics (J0701–J0706): labels used twice, migration
//! lines pointing nowhere or to a step that never runs, and lines that do not fit the versions
//! running.

use super::names::with_suggestion;
use super::{Code, Diagnostic, Label};
use crate::bytecode::KnownValue;
use crate::source::Span;
use crate::syntax::ast::{Ident, Migration};

/// Two steps of one journey with the same label.
pub fn duplicate_label(label: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateStepLabel,
        format!("two steps are labelled `{}`", label.name),
        Label::new(label.span, "labelled again here"),
    )
    .with_label(first, "first labelled here")
    .with_help("give each step its own label: a migration must know which step it means")
}

/// A migration line whose target label is not in the journey.
pub fn unknown_label<'a>(
    to: &Ident,
    journey: &str,
    labels: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let names: Vec<&str> = labels.clone().into_iter().collect();
    let diagnostic = Diagnostic::new(
        Code::UnknownStepLabel,
        format!("journey `{journey}` has no step labelled `{}`", to.name),
        Label::new(
            to.span,
            "customers would be moved to a step that does not exist",
        ),
    );
    let diagnostic = if names.is_empty() {
        diagnostic.with_note(format!(
            "journey `{journey}` labels none of its steps; write `step {}:` before the step they should go to",
            to.name
        ))
    } else {
        diagnostic.with_note(format!("the labelled steps are: {}", quoted(&names)))
    };
    with_suggestion(diagnostic, to, labels)
}

/// A migration line whose target step never runs: the compiled journey has no such step (it
/// comes after an `exit`, or sits in an `if` branch that a constant condition always skips).
/// `labelled` is where the step is labelled.
pub fn to_skipped_step(target: Span, name: &str, labelled: Option<Span>) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::MigrationToSkippedStep,
        format!("the step labelled `{name}` never runs, so no customer can be moved to it"),
        Label::new(target, "customers would be moved to a step that never runs"),
    );
    let diagnostic = match labelled {
        Some(span) => diagnostic.with_label(span, "labelled here, but no customer ever gets here"),
        None => diagnostic,
    };
    diagnostic
        .with_note("a step after an `exit`, or in an `if` branch whose condition never changes, never runs")
        .with_help("move these customers to a step that runs, or to `exit`")
}

/// `` `a`, `b` ``.
fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One old step moved twice.
pub fn duplicate_migration(from: &Ident, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateMigration,
        format!("customers at `{}` are moved twice", from.name),
        Label::new(from.span, "moved again here"),
    )
    .with_label(first, "first moved here")
    .with_help("keep one line per old step")
}

/// A migration line no deployed version can use.
pub fn from_nowhere(
    from: &Ident,
    journey: &str,
    versions: usize,
    running: Vec<&str>,
) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::MigrationFromNowhere,
        format!(
            "no running version of `{journey}` has a step labelled `{}`, so this line moves nobody",
            from.name
        ),
        Label::new(from.span, "no customer can stand here"),
    );
    let diagnostic = match (versions, running.is_empty()) {
        (0, _) => diagnostic.with_note(format!("`{journey}` is not running yet: nobody is mid-journey")),
        (_, true) => diagnostic.with_note(format!(
            "the running versions of `{journey}` label none of their steps, so their customers stay on them"
        )),
        (_, false) => {
            diagnostic.with_note(format!("the running versions label: {}", quoted(&running)))
        }
    };
    with_suggestion(diagnostic, from, running)
}

/// Customers at the old step lack values the new step may use.
pub fn loses_data(
    migration: &Migration,
    to: &Ident,
    version: &str,
    lacking: &[&KnownValue],
    carried: &[KnownValue],
) -> Diagnostic {
    let names = |values: &mut dyn Iterator<Item = &KnownValue>| {
        values
            .map(|v| format!("`{}` ({})", v.name, v.event))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let lacking_text = names(&mut lacking.iter().copied());
    let diagnostic = Diagnostic::new(
        Code::MigrationLosesData,
        format!(
            "customers at `{}` in version {version} do not have {lacking_text}, which `{}` may use",
            migration.from.name, to.name
        ),
        Label::new(migration.span, "this move would lose data"),
    );
    let diagnostic = if carried.is_empty() {
        diagnostic.with_note(format!(
            "customers at `{}` carry no event data",
            migration.from.name
        ))
    } else {
        diagnostic.with_note(format!(
            "customers at `{}` carry {}",
            migration.from.name,
            names(&mut carried.iter())
        ))
    };
    diagnostic.with_help(
        "move them to a step that needs only what they carry, or let them finish on their version (remove the line)",
    )
}
