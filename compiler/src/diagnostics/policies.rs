//! Wording of policy diagnostics (J0501–J0503).

use super::{Code, Diagnostic, Label};
use crate::syntax::ast::{FrequencyCap, Ident, QuietHours};

/// A policy for something other than marketing messages.
pub fn unknown_policy(name: &Ident) -> Diagnostic {
    let diagnostic = Diagnostic::new(
        Code::UnknownPolicy,
        format!(
            "`policy {}` governs nothing: only `marketing` messages follow a policy",
            name.name
        ),
        Label::new(name.span, "not a message category"),
    )
    .with_note(
        "transactional messages (order confirmations, shipping notices) are never held back",
    );
    diagnostic.with_fix("write `policy marketing`", name.span, "marketing")
}

/// Quiet hours that start and end at the same time.
pub fn empty_quiet_hours(quiet: &QuietHours) -> Diagnostic {
    Diagnostic::new(
        Code::EmptyQuietHours,
        "these quiet hours start and end at the same time",
        Label::new(quiet.span, "an empty (or whole-day) quiet period"),
    )
    .with_help(
        "write when the quiet period starts and when it ends, e.g. `quiet hours 21:00 to 08:00`",
    )
}

/// A frequency cap of zero.
pub fn zero_cap(cap: &FrequencyCap) -> Diagnostic {
    Diagnostic::new(
        Code::ZeroCap,
        "a frequency cap of 0 would block every marketing message",
        Label::new(cap.count_span, "zero"),
    )
    .with_help("allow at least one message, e.g. `at most 3 per 7 days`")
}
